//! Turning a reply [`Value`] into the type a command returns, under RESP2 or
//! RESP3 alike (a RESP3 map is a flat RESP2 array of pairs, a set is an
//! array, a null is `_` or `$-1`). A shape the command never returns is
//! [`RedisError::UnexpectedReply`].

use super::error::{RedisError, Result};
use super::resp::Value;

fn unexpected(command: &str, value: &Value) -> RedisError {
    RedisError::UnexpectedReply {
        command: command.to_string(),
        reply: value.describe(),
    }
}

/// `+OK`.
pub(super) fn ok(command: &str, value: Value) -> Result<()> {
    match value {
        Value::Simple(s) if s == "OK" => Ok(()),
        other => Err(unexpected(command, &other)),
    }
}

/// An integer.
pub(super) fn integer(command: &str, value: Value) -> Result<i64> {
    match value {
        Value::Integer(n) => Ok(n),
        other => Err(unexpected(command, &other)),
    }
}

/// A count: a non-negative integer.
pub(super) fn count(command: &str, value: Value) -> Result<u64> {
    match value {
        Value::Integer(n) if n >= 0 => Ok(n as u64),
        other => Err(unexpected(command, &other)),
    }
}

/// `:1` or `:0` (or a RESP3 boolean).
pub(super) fn flag(command: &str, value: Value) -> Result<bool> {
    match value {
        Value::Integer(1) | Value::Boolean(true) => Ok(true),
        Value::Integer(0) | Value::Boolean(false) => Ok(false),
        other => Err(unexpected(command, &other)),
    }
}

/// A string's bytes, or `None` for a null.
pub(super) fn optional_bytes(command: &str, value: Value) -> Result<Option<Vec<u8>>> {
    match value {
        Value::Null => Ok(None),
        other => bytes(command, other).map(Some),
    }
}

/// A string's bytes: bulk, simple or verbatim.
pub(super) fn bytes(command: &str, value: Value) -> Result<Vec<u8>> {
    match value {
        Value::Bulk(b) | Value::Verbatim { text: b, .. } => Ok(b),
        Value::Simple(s) => Ok(s.into_bytes()),
        other => Err(unexpected(command, &other)),
    }
}

/// The elements of an array or set (a null is empty).
pub(super) fn list(command: &str, value: Value) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Err(unexpected(command, &other)),
    }
}

/// Every element as bytes.
pub(super) fn bytes_list(command: &str, value: Value) -> Result<Vec<Vec<u8>>> {
    list(command, value)?
        .into_iter()
        .map(|item| bytes(command, item))
        .collect()
}

/// Key/value pairs: a RESP3 map, or a RESP2 array of even length
/// (`k1 v1 k2 v2 ...`). A null is empty.
pub(super) fn pairs(command: &str, value: Value) -> Result<Vec<(Value, Value)>> {
    match value {
        Value::Map(pairs) => Ok(pairs),
        Value::Array(items) if items.len() % 2 == 0 => {
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                pairs.push((k, v));
            }
            Ok(pairs)
        }
        Value::Null => Ok(Vec::new()),
        other => Err(unexpected(command, &other)),
    }
}

/// Pairs of byte strings (a hash, or a stream entry's fields).
pub(super) fn byte_pairs(command: &str, value: Value) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    pairs(command, value)?
        .into_iter()
        .map(|(k, v)| Ok((bytes(command, k)?, bytes(command, v)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn pairs_from_a_map_or_a_flat_array_are_the_same() {
        let map = Value::Map(vec![(bulk("a"), bulk("1")), (bulk("b"), bulk("2"))]);
        let flat = Value::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2")]);
        let want = vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
        ];
        assert_eq!(byte_pairs("HGETALL", map).unwrap(), want);
        assert_eq!(byte_pairs("HGETALL", flat).unwrap(), want);
        let odd = Value::Array(vec![bulk("a")]);
        assert!(matches!(
            byte_pairs("HGETALL", odd),
            Err(RedisError::UnexpectedReply { .. })
        ));
    }

    #[test]
    fn strings_nulls_and_counts() {
        assert_eq!(optional_bytes("GET", Value::Null).unwrap(), None);
        assert_eq!(
            optional_bytes("GET", bulk("x")).unwrap(),
            Some(b"x".to_vec())
        );
        assert!(optional_bytes("GET", Value::Integer(1)).is_err());
        assert_eq!(count("DEL", Value::Integer(2)).unwrap(), 2);
        assert!(count("DEL", Value::Integer(-1)).is_err());
        assert!(flag("PEXPIRE", Value::Integer(1)).unwrap());
        assert!(flag("PEXPIRE", Value::Integer(2)).is_err());
        assert!(ok("SET", Value::Simple("OK".into())).is_ok());
        assert!(ok("SET", Value::Simple("QUEUED".into())).is_err());
        let set = Value::Set(vec![bulk("x"), bulk("y")]);
        assert_eq!(
            bytes_list("SMEMBERS", set).unwrap(),
            vec![b"x".to_vec(), b"y".to_vec()]
        );
    }
}
