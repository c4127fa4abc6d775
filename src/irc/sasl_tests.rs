//! Tests of the SASL `PLAIN` exchange, hostile payloads included.
#![cfg(test)]

use super::*;

fn auth(sasl: &mut Sasl, arg: &str) -> SaslStep {
    sasl.handle("srv", "*", &[arg.to_string()])
}

/// The lines of a reply step, as the wire would carry them.
fn lines(step: SaslStep) -> Vec<String> {
    match step {
        SaslStep::Reply(ms) => ms
            .iter()
            .map(|m| String::from_utf8(m.to_line().expect("fits")).expect("utf-8"))
            .map(|l| l.trim_end().to_string())
            .collect(),
        SaslStep::Verify(c) => panic!("expected a reply, got {c:?}"),
    }
}

fn verify(step: SaslStep) -> Credentials {
    match step {
        SaslStep::Verify(c) => c,
        SaslStep::Reply(ms) => panic!("expected credentials, got {ms:?}"),
    }
}

fn plain(authzid: &str, account: &str, password: &str) -> String {
    base64::encode(format!("{authzid}\0{account}\0{password}").as_bytes())
}

#[test]
fn plain_in_one_chunk() {
    let mut sasl = Sasl::new();
    assert_eq!(lines(auth(&mut sasl, "PLAIN")), ["AUTHENTICATE +"]);
    assert!(sasl.in_progress());
    let c = verify(auth(&mut sasl, &plain("", "al", "secret")));
    assert_eq!((c.account.as_str(), c.password.as_str()), ("al", "secret"));
    assert!(
        !format!("{c:?}").contains("secret"),
        "Debug hides the password"
    );
    let done = sasl.succeeded("srv", "al", "al!al@127.0.0.1", "al");
    let done: Vec<_> = done.iter().map(|m| m.to_line().expect("fits")).collect();
    assert_eq!(
        done[0],
        b":srv 900 al al!al@127.0.0.1 al :You are now logged in as al\r\n"
    );
    assert_eq!(done[1], b":srv 903 al :SASL authentication successful\r\n");
    assert_eq!(sasl.account(), Some("al"));
    assert!(!sasl.in_progress());
}

#[test]
fn mechanism_name_is_case_insensitive_and_authzid_may_repeat_the_account() {
    let mut sasl = Sasl::new();
    auth(&mut sasl, "plain");
    let c = verify(auth(&mut sasl, &plain("Al", "al", "pw")));
    assert_eq!(c.account, "al");
}

#[test]
fn payload_of_exactly_400_bytes_waits_for_a_plus() {
    // 300 bytes of PLAIN message make exactly 400 bytes of base64.
    let password = "p".repeat(300 - "\0al\0".len());
    let payload = plain("", "al", &password);
    assert_eq!(payload.len(), CHUNK_BYTES);
    let mut sasl = Sasl::new();
    auth(&mut sasl, "PLAIN");
    assert_eq!(lines(auth(&mut sasl, &payload)), Vec::<String>::new());
    assert_eq!(verify(auth(&mut sasl, "+")).password, password);
}

#[test]
fn payload_over_several_chunks_is_joined() {
    let password = "q".repeat(500);
    let payload = plain("", "al", &password);
    let mut sasl = Sasl::new();
    auth(&mut sasl, "PLAIN");
    let (first, rest) = payload.split_at(CHUNK_BYTES);
    assert!(rest.len() < CHUNK_BYTES);
    assert_eq!(lines(auth(&mut sasl, first)), Vec::<String>::new());
    assert_eq!(verify(auth(&mut sasl, rest)).password, password);
}

#[test]
fn chunk_over_400_bytes_or_payload_over_three_chunks_is_905() {
    let mut sasl = Sasl::new();
    auth(&mut sasl, "PLAIN");
    let over = "A".repeat(CHUNK_BYTES + 1);
    assert_eq!(
        lines(auth(&mut sasl, &over)),
        [":srv 905 * :SASL message too long"]
    );
    assert!(!sasl.in_progress(), "905 ends the exchange");
    let mut sasl = Sasl::new();
    auth(&mut sasl, "PLAIN");
    let chunk = "A".repeat(CHUNK_BYTES);
    for _ in 0..3 {
        assert_eq!(lines(auth(&mut sasl, &chunk)), Vec::<String>::new());
    }
    assert_eq!(
        lines(auth(&mut sasl, "AAAA")),
        [":srv 905 * :SASL message too long"]
    );
}

#[test]
fn star_aborts_with_906() {
    let mut sasl = Sasl::new();
    auth(&mut sasl, "PLAIN");
    assert_eq!(
        lines(auth(&mut sasl, "*")),
        [":srv 906 * :SASL authentication aborted"]
    );
    assert!(!sasl.in_progress());
    // And a new exchange may start.
    assert_eq!(lines(auth(&mut sasl, "PLAIN")), ["AUTHENTICATE +"]);
    assert!(sasl.abort("srv", "*").is_some());
    assert!(sasl.abort("srv", "*").is_none(), "nothing left to abort");
}

#[test]
fn unknown_mechanisms_get_the_list_and_904() {
    let mut sasl = Sasl::new();
    assert_eq!(
        lines(auth(&mut sasl, "EXTERNAL")),
        [
            ":srv 908 * PLAIN :are available SASL mechanisms",
            ":srv 904 * :SASL authentication failed"
        ]
    );
    assert!(!sasl.in_progress());
}

#[test]
fn malformed_payloads_are_904() {
    let bad = [
        "+".to_string(),                             // empty
        "!!!!".to_string(),                          // not base64
        "Zm9v".to_string(),                          // "foo": no NULs
        plain("", "", "pw"),                         // no account
        plain("", "al", ""),                         // no password
        plain("bo", "al", "pw"),                     // acting as someone else
        base64::encode(b"\0al\0pw\0extra"),          // four fields
        base64::encode(b"\0al\0p\xffw"),             // not UTF-8
        format!("{}=", &plain("", "al", "pw")[..7]), // broken padding
    ];
    for payload in bad {
        let mut sasl = Sasl::new();
        auth(&mut sasl, "PLAIN");
        let got = lines(auth(&mut sasl, &payload));
        assert_eq!(got.len(), 1, "{payload:?}");
        assert!(got[0].starts_with(":srv 904 * :"), "{payload:?}: {got:?}");
        assert!(!sasl.in_progress());
    }
}

#[test]
fn refused_credentials_are_904_with_the_reason_and_a_retry_is_allowed() {
    let mut sasl = Sasl::new();
    auth(&mut sasl, "PLAIN");
    verify(auth(&mut sasl, &plain("", "al", "wrong")));
    let lines: Vec<_> = sasl
        .failed("srv", "*", "wrong password")
        .iter()
        .map(|m| m.to_line().expect("fits"))
        .collect();
    assert_eq!(
        lines,
        [b":srv 904 * :SASL authentication failed: wrong password\r\n".to_vec()]
    );
    assert_eq!(sasl.account(), None);
    assert!(matches!(auth(&mut sasl, "PLAIN"), SaslStep::Reply(_)));
}

#[test]
fn after_success_another_exchange_is_907() {
    let mut sasl = Sasl::new();
    sasl.succeeded("srv", "al", "al!al@h", "al");
    assert_eq!(
        lines(auth(&mut sasl, "PLAIN")),
        [":srv 907 * :You have already authenticated using SASL"]
    );
}

#[test]
fn a_line_while_verifying_or_without_argument_is_answered() {
    let mut sasl = Sasl::new();
    assert_eq!(
        lines(sasl.handle("srv", "*", &[])),
        [":srv 461 * AUTHENTICATE :Not enough parameters"]
    );
    auth(&mut sasl, "PLAIN");
    verify(auth(&mut sasl, &plain("", "al", "pw")));
    assert_eq!(
        lines(auth(&mut sasl, "+")),
        [":srv 906 * :SASL authentication aborted"]
    );
    assert!(!sasl.in_progress());
}
