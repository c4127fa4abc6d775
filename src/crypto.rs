//! Placeholder: SHA-256, HMAC-SHA256 and PBKDF2 land here.
