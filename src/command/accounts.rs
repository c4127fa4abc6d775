//! Who you are: logging in and out, nicknames, registered accounts and
//! their profiles.

use crate::protocol::{header, Frame};

use super::{required, target_name, text, user_target, Refusal};

/// A request about the sender's identity or someone's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRequest {
    Login {
        nick: String,
        password: Option<String>,
        /// `Rooms: many`: the connection may be in several rooms at once;
        /// without it, each `JOIN` moves it (one room at a time).
        many_rooms: bool,
    },
    /// Registers the sender's nickname with this password.
    Register {
        password: String,
    },
    Passwd {
        old: String,
        new: String,
    },
    /// Back to the state before `LOGIN`; the connection stays open.
    Logout,
    /// Sets an attribute of the sender's profile; an empty value clears it.
    SetProfile {
        attr: String,
        value: String,
    },
    ViewProfile {
        nick: String,
    },
    Whoami,
    /// Registered users and guests online.
    ListUsers,
    /// Change the sender's nickname.
    Nick {
        nick: String,
    },
}

impl AccountRequest {
    pub(super) fn parse(verb: &str, frame: &Frame) -> Option<Result<AccountRequest, Refusal>> {
        Some(match verb {
            "LOGIN" => required(frame, header::NICK).and_then(|nick| {
                let many_rooms = match frame.header(header::ROOMS) {
                    None | Some("one") => false,
                    Some("many") => true,
                    Some(other) => {
                        return Err(Refusal::bad_request(format!(
                            "Rooms must be one or many, not {other:?}"
                        )))
                    }
                };
                Ok(AccountRequest::Login {
                    nick,
                    password: frame.header(header::PASSWORD).map(str::to_string),
                    many_rooms,
                })
            }),
            "REGISTER" => required(frame, header::PASSWORD)
                .map(|password| AccountRequest::Register { password }),
            "PASSWD" => required(frame, header::PASSWORD).and_then(|old| {
                let new = required(frame, header::NEW_PASSWORD)?;
                Ok(AccountRequest::Passwd { old, new })
            }),
            "SET-PROFILE" => target_name(frame.target(), "/profile/")
                .ok_or_else(|| {
                    Refusal::bad_request("SET-PROFILE needs a target /profile/ATTRIBUTE")
                })
                .and_then(|attr| {
                    let value = text(frame)?;
                    Ok(AccountRequest::SetProfile {
                        attr: attr.to_string(),
                        value,
                    })
                }),
            "PROFILE" => user_target(frame).map(|nick| AccountRequest::ViewProfile { nick }),
            "NICK" => user_target(frame).map(|nick| AccountRequest::Nick { nick }),
            "LOGOUT" => Ok(AccountRequest::Logout),
            "WHOAMI" => Ok(AccountRequest::Whoami),
            "LIST-USERS" => Ok(AccountRequest::ListUsers),
            _ => return None,
        })
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        match self {
            AccountRequest::Login {
                nick,
                password,
                many_rooms,
            } => {
                let mut frame = Frame::request("LOGIN", "/").with_header(header::NICK, nick);
                if let Some(p) = password {
                    frame = frame.with_header(header::PASSWORD, p);
                }
                if many_rooms {
                    frame = frame.with_header(header::ROOMS, "many");
                }
                frame
            }
            AccountRequest::Register { password } => {
                Frame::request("REGISTER", "/").with_header(header::PASSWORD, password)
            }
            AccountRequest::Passwd { old, new } => Frame::request("PASSWD", "/")
                .with_header(header::PASSWORD, old)
                .with_header(header::NEW_PASSWORD, new),
            AccountRequest::Logout => Frame::request("LOGOUT", "/"),
            AccountRequest::SetProfile { attr, value } => {
                Frame::request("SET-PROFILE", &format!("/profile/{attr}")).with_text(&value)
            }
            AccountRequest::ViewProfile { nick } => {
                Frame::request("PROFILE", &format!("/users/{nick}"))
            }
            AccountRequest::Whoami => Frame::request("WHOAMI", "/"),
            AccountRequest::ListUsers => Frame::request("LIST-USERS", "/"),
            AccountRequest::Nick { nick } => Frame::request("NICK", &format!("/users/{nick}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{tests::round_trip, Request};
    use crate::protocol::Status;

    #[test]
    fn account_requests_round_trip_and_need_their_parts() {
        round_trip(AccountRequest::Login {
            nick: "ntu".into(),
            password: None,
            many_rooms: false,
        });
        round_trip(AccountRequest::Login {
            nick: "ntu".into(),
            password: Some("correct horse".into()),
            many_rooms: true,
        });
        round_trip(AccountRequest::Register {
            password: "correct horse".into(),
        });
        round_trip(AccountRequest::Passwd {
            old: "correct horse".into(),
            new: "battery staple".into(),
        });
        round_trip(AccountRequest::SetProfile {
            attr: "self_description".into(),
            value: "I like = signs and é".into(),
        });
        round_trip(AccountRequest::SetProfile {
            attr: "age".into(),
            value: String::new(),
        });
        round_trip(AccountRequest::ViewProfile { nick: "ntu".into() });
        round_trip(AccountRequest::Nick { nick: "new".into() });
        for r in [
            AccountRequest::Logout,
            AccountRequest::Whoami,
            AccountRequest::ListUsers,
        ] {
            round_trip(r);
        }
        for (frame, missing) in [
            (Frame::request("LOGIN", "/"), "Nick"),
            (Frame::request("REGISTER", "/"), "Password"),
            (
                Frame::request("PASSWD", "/").with_header(header::PASSWORD, "x"),
                "New-Password",
            ),
            (Frame::request("SET-PROFILE", "/"), "/profile/"),
            (Frame::request("PROFILE", "/users/"), "/users/NICK"),
        ] {
            let refusal = Request::from_frame(&frame).unwrap_err();
            assert_eq!(refusal.status, Status::BAD_REQUEST);
            assert!(refusal.reason.contains(missing), "{refusal}");
        }
    }
}
