//! The request side of finAPI's contract, over HTTP: every form of request finAPI accepts is
//! accepted (OAuth parameters in the query or the body, HTTP Basic client credentials,
//! `Content-Type` parameters, unknown JSON fields, revoke parameters in either place), and
//! every request it rejects gets the documented status and code with the field named.

use crate::common;

use common::*;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, ApiVersion::V1, ApiVersion::V2, Clock, FinapiMock};
use serde_json::json;

const APP: (&str, &str) = demo::APP_CLIENT;
const ADMIN: (&str, &str) = demo::ADMIN_CLIENT;
const LEGACY: (&str, &str) = demo::LEGACY_APP_CLIENT;
const ALICE: (&str, &str) = demo::USERS[0];

async fn mock() -> FinapiMock {
    FinapiMock::builder().clock(Clock::epoch()).start().await
}

/// The app client of the mandator bound to `v`, and one of its users.
fn app_and_user(v: ApiVersion) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    match v {
        V1 => (LEGACY, demo::LEGACY_USER),
        V2 => (APP, ALICE),
    }
}

/// A token answer is a usable bearer token: the services of its caller kind answer 200.
async fn assert_token_works(base: &str, v: ApiVersion, r: &Resp, user: bool) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["access_token"].as_str().expect("access_token");
    let path = if user {
        format!("{}/users", api(v))
    } else {
        format!("{}/clientConfiguration", api(v))
    };
    let check = get(base, &path, token).await;
    assert_eq!(check.status, 200, "{path}: {}", check.text);
    token.to_string()
}

#[tokio::test]
async fn token_parameters_in_the_query_are_accepted_as_the_v1_python_client_sends_them() {
    let mock = mock().await;
    let base = mock.uri();
    for v in ApiVersion::ALL {
        let (app, user) = app_and_user(v);
        // finAPI's 2019 generated client: query parameters, an empty body, and the
        // `application/json` content type its REST layer sets on every bodiless POST.
        let r = send(
            http()
                .post(format!("{base}{}", token_path(v)))
                .query(&Grant::Password(app, user).pairs())
                .header("content-type", "application/json"),
        )
        .await;
        assert_token_works(&base, v, &r, true).await;
        // No content type at all.
        let r = send(
            http()
                .post(format!("{base}{}", token_path(v)))
                .query(&Grant::Client(app).pairs()),
        )
        .await;
        assert_token_works(&base, v, &r, false).await;
    }
}

#[tokio::test]
async fn parameters_split_between_query_and_body_are_merged() {
    let mock = mock().await;
    let base = mock.uri();
    let r = send(
        http()
            .post(format!(
                "{base}{}?grant_type=client_credentials",
                token_path(V2)
            ))
            .form(&[("client_id", APP.0), ("client_secret", APP.1)]),
    )
    .await;
    assert_token_works(&base, V2, &r, false).await;
    // The same value in both places counts once.
    let r = send(
        http()
            .post(format!("{base}{}?client_id={}", token_path(V2), APP.0))
            .form(&Grant::Client(APP).pairs()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Different values are a parameter given twice, and the message names it.
    let r = send(
        http()
            .post(format!("{base}{}?grant_type=password", token_path(V2)))
            .form(&Grant::Client(APP).pairs()),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.message().contains("grant_type"), "{}", r.text);
}

#[tokio::test]
async fn client_credentials_in_http_basic_for_every_grant() {
    let mock = mock().await;
    let base = mock.uri();
    for v in ApiVersion::ALL {
        let (app, user) = app_and_user(v);
        let r = grant_basic(&base, v, Grant::Client(app)).await;
        assert_token_works(&base, v, &r, false).await;
        let r = grant_basic(&base, v, Grant::Password(app, user)).await;
        assert_token_works(&base, v, &r, true).await;
        let refresh = r.body["refresh_token"].as_str().unwrap().to_string();
        let r = grant_basic(&base, v, Grant::Refresh(app, &refresh)).await;
        assert_token_works(&base, v, &r, true).await;
    }
}

#[tokio::test]
async fn basic_and_body_credentials_together_must_agree() {
    let mock = mock().await;
    let url = format!("{}{}", mock.uri(), token_path(V2));
    let with = |form: Vec<(&'static str, &'static str)>| {
        http().post(&url).basic_auth(APP.0, Some(APP.1)).form(&form)
    };
    let grant = ("grant_type", "client_credentials");
    // Agreeing: accepted.
    let r = send(with(vec![
        grant,
        ("client_id", APP.0),
        ("client_secret", APP.1),
    ]))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send(with(vec![grant, ("client_id", APP.0)])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Another client's id, or a wrong secret, in the body: bad client credentials.
    for form in [
        vec![grant, ("client_id", APP2.0), ("client_secret", APP2.1)],
        vec![grant, ("client_id", APP2.0)],
        vec![grant, ("client_secret", "not-the-secret")],
    ] {
        let r = send(with(form.clone())).await;
        assert_eq!(r.status, 401, "{form:?}: {}", r.text);
        assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
    }
    // A Basic header that does not decode is bad client credentials too, not "missing".
    let r = send(
        http()
            .post(&url)
            .header("authorization", "Basic !!!not-base64")
            .form(&[grant]),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
}

const APP2: (&str, &str) = demo::APP_CLIENT2;

#[tokio::test]
async fn basic_credentials_may_be_form_encoded_first() {
    // RFC 6749 asks clients to form-encode id and secret before Base64; with plain ASCII ids
    // that is the identity, so a client that percent-encodes a harmless character still works.
    let mock = mock().await;
    let encoded_secret = APP.1.replace('-', "%2D");
    let r = grant_basic(&mock.uri(), V2, Grant::Client((APP.0, &encoded_secret))).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn content_types_with_parameters_are_accepted() {
    let mock = mock().await;
    let base = mock.uri();
    let body = Grant::Client(APP).form();
    for ct in [
        "application/x-www-form-urlencoded;charset=UTF-8",
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let r = send(
            http()
                .post(format!("{base}{}", token_path(V2)))
                .header("content-type", ct)
                .body(body.clone()),
        )
        .await;
        assert_eq!(r.status, 200, "{ct}: {}", r.text);
    }
    let app = client_token(&base, V2, APP).await;
    for (i, ct) in [
        "application/json; charset=UTF-8",
        "application/json;charset=utf-8",
        "application/vnd.finapi+json",
    ]
    .into_iter()
    .enumerate()
    {
        let r = send(
            http()
                .post(format!("{base}/api/v2/users"))
                .bearer_auth(&app)
                .header("content-type", ct)
                .body(
                    json!({ "id": format!("charset-{i}"), "password": "charset-password" })
                        .to_string(),
                ),
        )
        .await;
        assert_eq!(r.status, 201, "{ct}: {}", r.text);
    }
    // A body in a charset the mock cannot read is refused, not misread.
    let r = send(
        http()
            .post(format!("{base}/api/v2/users"))
            .bearer_auth(&app)
            .header("content-type", "application/json; charset=ISO-8859-1")
            .body(r#"{"id":"latin"}"#),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.text);
    assert_eq!(r.code(), "UNSUPPORTED_MEDIA_TYPE");
    // A form where JSON is expected stays 415, and so does a media type that only starts like
    // the form one.
    let r = send(
        http()
            .post(format!("{base}{}", token_path(V2)))
            .header("content-type", "application/x-www-form-urlencodedx")
            .body(body),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.text);
}

#[tokio::test]
async fn unknown_json_fields_are_ignored() {
    let mock = mock().await;
    let base = mock.uri();
    for v in ApiVersion::ALL {
        let (app, _) = app_and_user(v);
        let t = client_token(&base, v, app).await;
        let id = format!("unknown-fields-{v}");
        let r = post_json(
            &base,
            &format!("{}/users", api(v)),
            &t,
            &json!({ "id": id, "password": "unknown-password", "futureField": { "a": [1, 2] }, "isAutoUpdateEnabled": true }),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        // The V1 mandator's client does not verify users automatically.
        let verify = format!("{}/users/verify/{id}", api(v));
        let r = call(&base, reqwest::Method::POST, &verify, Some(&t), None).await;
        assert!(matches!(r.status, 200 | 422), "{verify}: {}", r.text);
        let user = user_token(&base, v, app, (&id, "unknown-password")).await;
        let r = patch_json(
            &base,
            &format!("{}/users", api(v)),
            &user,
            &json!({ "email": "new@example.test", "somethingNew": 1 }),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn revoke_takes_its_parameters_from_the_query_or_the_body_in_both_versions() {
    let mock = mock().await;
    let base = mock.uri();
    for v in ApiVersion::ALL {
        let (app, user) = app_and_user(v);
        let revoke_url = match v {
            V1 => format!("{base}/oauth/revoke"),
            V2 => format!("{base}/api/v2/oauth/revoke"),
        };
        let client = client_token(&base, v, app).await;
        for place in ["query", "body"] {
            let (access, _) = user_tokens(&base, v, app, user).await;
            assert_eq!(
                get(&base, &format!("{}/users", api(v)), &access)
                    .await
                    .status,
                200
            );
            let params = [
                ("token", access.as_str()),
                ("token_type_hint", "access_token"),
            ];
            let req = http().post(&revoke_url).bearer_auth(&client);
            let req = match place {
                "query" => req.query(&params),
                _ => req.form(&params),
            };
            let r = send(req).await;
            assert_eq!(r.status, 200, "{v} revoke via {place}: {}", r.text);
            let after = get(&base, &format!("{}/users", api(v)), &access).await;
            assert_eq!(
                after.status, 401,
                "{v} revoke via {place} left the token alive"
            );
        }
    }
}

#[tokio::test]
async fn token_requests_finapi_rejects_name_the_field() {
    let mock = mock().await;
    let base = mock.uri();
    // The token endpoint documents one 400 (ErrorMessage, BAD_REQUEST) for a bad grant; the
    // grant's own parameters are required fields.
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str, &'a str);
    let cases: [Case<'_>; 5] = [
        (
            &[("client_id", APP.0), ("client_secret", APP.1)],
            400,
            "BAD_REQUEST",
            "grant_type",
        ),
        (
            &[
                ("grant_type", "implicit"),
                ("client_id", APP.0),
                ("client_secret", APP.1),
            ],
            400,
            "BAD_REQUEST",
            "grant_type",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", APP.0),
                ("client_secret", APP.1),
                ("password", ALICE.1),
            ],
            400,
            "MISSING_FIELD",
            "username",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", APP.0),
                ("client_secret", APP.1),
                ("username", ALICE.0),
            ],
            400,
            "MISSING_FIELD",
            "password",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", APP.0),
                ("client_secret", APP.1),
            ],
            400,
            "MISSING_FIELD",
            "refresh_token",
        ),
    ];
    for (form, status, code, field) in cases {
        let r = token(&base, V2, form).await;
        assert_eq!(r.status, status, "{form:?}: {}", r.text);
        assert_eq!(r.code(), code, "{form:?}: {}", r.text);
        assert!(r.message().contains(field), "{form:?}: {}", r.text);
    }
    // An unknown token_type_hint on revoke.
    let client = client_token(&base, V2, APP).await;
    let r = post_form(
        &base,
        "/api/v2/oauth/revoke",
        Some(&client),
        &[("token", "whatever"), ("token_type_hint", "id_token")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "BAD_REQUEST");
    assert!(r.message().contains("token_type_hint"), "{}", r.text);
}

#[tokio::test]
async fn json_bodies_finapi_rejects_name_the_field() {
    let mock = mock().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let admin = client_token(&base, V2, ADMIN).await;
    let cases = [
        (
            &app,
            "/api/v2/users/requestPasswordChange",
            json!({}),
            "MISSING_FIELD",
            "userId",
        ),
        (
            &app,
            "/api/v2/users/requestPasswordChange",
            json!({ "userId": 7 }),
            "ILLEGAL_FIELD_VALUE",
            "userId",
        ),
        (
            &app,
            "/api/v2/users/executePasswordChange",
            json!({ "userId": "alice", "password": 12345678, "passwordChangeToken": "x" }),
            "ILLEGAL_FIELD_VALUE",
            "password",
        ),
        (
            &app,
            "/api/v2/users/executePasswordChange",
            json!({ "userId": "alice", "password": "long-enough-1" }),
            "MISSING_FIELD",
            "passwordChangeToken",
        ),
        (
            &app,
            "/api/v2/users",
            json!({ "id": ["not", "a", "string"] }),
            "ILLEGAL_FIELD_VALUE",
            "id",
        ),
        (
            &admin,
            "/api/v2/mandatorAdmin/switchApiVersion",
            // The V2 shape gives apiVersion no enum (a string of 1 to 4 characters), so the
            // handler refuses the value: 400 BAD_REQUEST, naming the field.
            json!({ "apiVersion": "V3" }),
            "BAD_REQUEST",
            "apiVersion",
        ),
        (
            &admin,
            "/api/v2/mandatorAdmin/switchApiVersion",
            json!({}),
            "MISSING_FIELD",
            "apiVersion",
        ),
        (
            &admin,
            "/api/v2/mandatorAdmin/deleteUsers",
            json!({ "userIds": "alice" }),
            "ILLEGAL_FIELD_VALUE",
            "userIds",
        ),
    ];
    for (token, path, body, code, field) in cases {
        let r = post_json(&base, path, token, &body).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text);
        assert_eq!(r.code(), code, "{path} {body}: {}", r.text);
        assert!(r.message().contains(field), "{path} {body}: {}", r.text);
    }
    // Nothing was changed by the rejected requests: alice still logs in with her password.
    user_token(&base, V2, APP, ALICE).await;
}

#[tokio::test]
async fn wrong_role_callers_get_403_before_their_body_is_looked_at() {
    let mock = mock().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let user = user_token(&base, V2, APP, ALICE).await;
    // Bodies that would be 400 for the right caller.
    for (token, path) in [
        (&app, "/api/v2/mandatorAdmin/deleteUsers"),
        (&app, "/api/v2/mandatorAdmin/switchApiVersion"),
        (&user, "/api/v2/users/requestPasswordChange"),
    ] {
        let r = post_json(
            &base,
            path,
            token,
            &json!({ "userIds": 5, "apiVersion": 1 }),
        )
        .await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        let r = send(
            http()
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn an_empty_request_id_is_no_request_id() {
    // Generated clients send the optional X-Request-Id header empty when it is unset; finAPI
    // makes up an id when none is passed, so the request goes through with a fresh one.
    let mock = mock().await;
    let base = mock.uri();
    let app = client_token(&base, V1, LEGACY).await;
    let r = send(
        http()
            .get(format!("{base}/api/v1/clientConfiguration"))
            .bearer_auth(&app)
            .header("x-request-id", ""),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.request_id().starts_with("selfgen-"), "{:?}", r.headers);
}

// ---------------------------------------------------------------------------------------------
// Bodies of the generic store's operations (labels, categories, payments, standing orders,
// notification rules, TPP certificates and credentials, edits): checked against the request
// shapes like every other JSON body.

use finapi_conformance::model::Shapes;
use serde_json::Value;

/// An id that exists nowhere in the demo world.
const NOWHERE: u64 = 999_999_937;

/// How a case breaks a valid body: drop a field, or set it to a value of the wrong type or
/// outside its enum. Fields are JSON pointers; the message names them as finAPI paths.
enum Break {
    Drop(&'static str),
    Set(&'static str, Value),
}

/// The user's and the admin client's tokens of the mandator bound to `v`.
async fn user_and_admin(base: &str, v: ApiVersion) -> (String, String) {
    let (app, user) = app_and_user(v);
    let admin = match v {
        V1 => demo::LEGACY_ADMIN_CLIENT,
        V2 => ADMIN,
    };
    (
        user_token(base, v, app, user).await,
        client_token(base, v, admin).await,
    )
}

/// The method and path of `op` (any id in the path: one that exists nowhere).
fn route(v: ApiVersion, op: &str) -> (reqwest::Method, String) {
    let shape = Shapes::embedded(v)
        .operation(op)
        .expect("operation in the shapes");
    let path = shape.path.replace("{id}", &NOWHERE.to_string());
    (shape.method.parse().expect("method"), path)
}

/// A valid body of `op`, from the request shapes.
fn valid(v: ApiVersion, op: &str) -> Value {
    Shapes::embedded(v)
        .request_body(op, json!({}))
        .expect("a JSON body")
}

fn broken(mut body: Value, how: &Break) -> Value {
    let (pointer, value) = match how {
        Break::Drop(p) => (*p, None),
        Break::Set(p, v) => (*p, Some(v.clone())),
    };
    let (parent, name) = pointer.rsplit_once('/').expect("a pointer");
    let target = body.pointer_mut(parent).expect("the parent is in the body");
    match (target, value) {
        (Value::Object(map), None) => {
            map.remove(name).expect("the field is in the body");
        }
        (Value::Object(map), Some(v)) => {
            map.insert(name.to_string(), v);
        }
        (other, _) => panic!("{pointer}: not in an object: {other}"),
    }
    body
}

/// (operation, sent by the admin client, break, code, field named)
fn generic_cases() -> Vec<(&'static str, bool, Break, &'static str, &'static str)> {
    use Break::*;
    const MISSING: &str = "MISSING_FIELD";
    const ILLEGAL: &str = "ILLEGAL_FIELD_VALUE";
    vec![
        ("createLabel", false, Drop("/name"), MISSING, "name"),
        (
            "createLabel",
            false,
            Set("/name", json!(5)),
            ILLEGAL,
            "name",
        ),
        ("createCategory", false, Drop("/name"), MISSING, "name"),
        (
            "createCategory",
            false,
            Set("/name", json!(true)),
            ILLEGAL,
            "name",
        ),
        (
            "createCategory",
            false,
            Set("/parentId", json!("one")),
            ILLEGAL,
            "parentId",
        ),
        (
            "createMoneyTransfer",
            false,
            Drop("/moneyTransfers"),
            MISSING,
            "moneyTransfers",
        ),
        (
            "createMoneyTransfer",
            false,
            Set("/moneyTransfers/0/amount", json!("ten")),
            ILLEGAL,
            "moneyTransfers[0].amount",
        ),
        (
            "createMoneyTransfer",
            false,
            Drop("/moneyTransfers/0/counterpartIban"),
            MISSING,
            "moneyTransfers[0].counterpartIban",
        ),
        (
            "createStandingOrder",
            false,
            Set("/frequency", json!("FORTNIGHTLY")),
            ILLEGAL,
            "frequency",
        ),
        (
            "createNotificationRule",
            false,
            Set("/triggerEvent", json!("SOMETIMES")),
            ILLEGAL,
            "triggerEvent",
        ),
        ("createNewCertificate", true, Drop("/type"), MISSING, "type"),
        (
            "createNewCertificate",
            true,
            Set("/type", json!("QWAX")),
            ILLEGAL,
            "type",
        ),
        (
            "createTppCredential",
            true,
            Drop("/tppAuthenticationGroupId"),
            MISSING,
            "tppAuthenticationGroupId",
        ),
        (
            "createTppCredential",
            true,
            Set("/tppAuthenticationGroupId", json!("one")),
            ILLEGAL,
            "tppAuthenticationGroupId",
        ),
        ("editLabel", false, Drop("/name"), MISSING, "name"),
        (
            "editLabel",
            false,
            Set("/name", json!(["a"])),
            ILLEGAL,
            "name",
        ),
        (
            "editTppCredential",
            true,
            Set("/label", json!(5)),
            ILLEGAL,
            "label",
        ),
    ]
}

#[tokio::test]
async fn generic_json_bodies_finapi_rejects_get_their_documented_status_naming_the_field() {
    let mock = mock().await;
    let base = mock.uri();
    for v in ApiVersion::ALL {
        let shapes = Shapes::embedded(v);
        let (user, admin) = user_and_admin(&base, v).await;
        for (op, by_admin, how, code, field) in generic_cases() {
            // The status the operation documents for a bad body (400 in both saved specs).
            let documented = &shapes.operation(op).unwrap().responses;
            assert!(documented.contains_key("400"), "{v} {op}");
            let token = if by_admin { &admin } else { &user };
            let (method, path) = route(v, op);
            let mut body = valid(v, op);
            if let Break::Set(p, _) = &how {
                // Optional fields the sample leaves out are given first, then broken.
                let name = p.trim_start_matches('/');
                if !name.contains('/') && body.get(name).is_none() {
                    body[name] = json!(null);
                }
            }
            let body = broken(body, &how);
            let r = call(&base, method, &path, Some(token), Some(&body)).await;
            let at = format!("{v} {op} {body}");
            assert_eq!(r.status, 400, "{at}: {}", r.text);
            assert_eq!(r.code(), code, "{at}: {}", r.text);
            assert!(
                r.message().contains(&format!("`{field}`")),
                "{at}: names `{field}`: {}",
                r.text
            );
        }
    }
}

#[tokio::test]
async fn generic_json_bodies_with_unknown_fields_are_accepted_and_edits_reach_their_handler() {
    let mock = mock().await;
    let base = mock.uri();
    for v in ApiVersion::ALL {
        let (user, admin) = user_and_admin(&base, v).await;
        for (op, token) in [
            ("createLabel", &user),
            ("createCategory", &user),
            ("createMoneyTransfer", &user),
            ("createStandingOrder", &user),
            ("createNotificationRule", &user),
            ("createNewCertificate", &admin),
            ("createTppCredential", &admin),
        ] {
            let (method, path) = route(v, op);
            let mut body = valid(v, op);
            body["someFutureField"] = json!({ "nested": [1, 2] });
            let r = call(&base, method, &path, Some(token), Some(&body)).await;
            assert!(r.status / 100 == 2, "{v} {op} {body}: {}", r.text);
            assert!(r.body["id"].is_u64(), "{v} {op}: stored: {}", r.text);
        }
        // A valid edit of an id that exists nowhere is past validation: the handler's 404.
        for (op, token) in [("editLabel", &user), ("editTppCredential", &admin)] {
            let (method, path) = route(v, op);
            let r = call(&base, method, &path, Some(token), Some(&valid(v, op))).await;
            assert_eq!(r.status, 404, "{v} {op}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn wrong_role_callers_with_bad_generic_bodies_get_403_or_400_when_the_target_validates_first()
{
    let validate_first = FinapiMock::builder()
        .clock(Clock::epoch())
        .profile("validate-first".parse().expect("profile"))
        .start()
        .await;
    let faithful = mock().await;
    for (mock, validates_first) in [(&faithful, false), (&validate_first, true)] {
        let base = mock.uri();
        for v in ApiVersion::ALL {
            let (user, admin) = user_and_admin(&base, v).await;
            // A user-only operation sent by the admin client, an admin-only one by the user.
            for (op, token, how, code, field) in [
                (
                    "createLabel",
                    &admin,
                    Break::Set("/name", json!(5)),
                    "ILLEGAL_FIELD_VALUE",
                    "name",
                ),
                (
                    "editLabel",
                    &admin,
                    Break::Drop("/name"),
                    "MISSING_FIELD",
                    "name",
                ),
                (
                    "createNewCertificate",
                    &user,
                    Break::Drop("/label"),
                    "MISSING_FIELD",
                    "label",
                ),
                (
                    "createTppCredential",
                    &user,
                    Break::Set("/tppAuthenticationGroupId", json!("x")),
                    "ILLEGAL_FIELD_VALUE",
                    "tppAuthenticationGroupId",
                ),
            ] {
                let (method, path) = route(v, op);
                let at = format!("{v} {op} (validate first: {validates_first})");
                let bad = broken(valid(v, op), &how);
                let r = call(&base, method.clone(), &path, Some(token), Some(&bad)).await;
                if validates_first {
                    assert_eq!(r.status, 400, "{at}: {}", r.text);
                    assert_eq!(r.code(), code, "{at}: {}", r.text);
                    assert!(
                        r.message().contains(&format!("`{field}`")),
                        "{at}: {}",
                        r.text
                    );
                } else {
                    assert_eq!(r.status, 403, "{at}: role first: {}", r.text);
                    assert_eq!(r.code(), "UNAUTHORIZED_ACCESS", "{at}: {}", r.text);
                }
                // A valid body is refused by the role check in either order.
                let r = call(&base, method, &path, Some(token), Some(&valid(v, op))).await;
                assert_eq!(r.status, 403, "{at}: valid body: {}", r.text);
            }
        }
    }
}
