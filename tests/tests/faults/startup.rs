//! The start-up error says what failed: "Is it running? Start it" only when PostgreSQL does
//! not answer; a role that does not exist, a wrong password or a bad URL parameter is named
//! as such.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use procura_server::config::Settings;

use crate::cluster::Cluster;
use crate::one_at_a_time;

/// Why `Application::build` fails on `url`, as `procura-server` prints it.
async fn start_up_error(url: &str) -> String {
    let settings = Settings::new("127.0.0.1:0".parse().unwrap(), url);
    match procura_server::startup::Application::build(settings).await {
        Ok(_) => panic!("the server started on {url}"),
        Err(error) => format!("{error:#}"),
    }
}

const NOT_RUNNING: &str = "Is it running? Start it";

#[tokio::test]
async fn the_start_up_error_says_what_failed() {
    let _turn = one_at_a_time().await;
    let cluster = Cluster::start_new();
    let mut admin = AsyncPgConnection::establish(&cluster.url("postgres"))
        .await
        .unwrap();
    admin
        .batch_execute("CREATE ROLE keeper LOGIN PASSWORD 'right'")
        .await
        .unwrap();
    cluster.authenticate_first("host all keeper 127.0.0.1/32 scram-sha-256");
    let at = |user: &str, rest: &str| {
        format!("postgres://{user}@127.0.0.1:{}/procura{rest}", cluster.port)
    };

    let no_role = start_up_error(&at("nobody", "")).await;
    assert!(
        no_role.contains("role \"nobody\" does not exist"),
        "{no_role}"
    );
    assert!(!no_role.contains(NOT_RUNNING), "{no_role}");

    let wrong_password = start_up_error(&at("keeper:wrong", "")).await;
    assert!(
        wrong_password.contains("password authentication failed"),
        "{wrong_password}"
    );
    assert!(!wrong_password.contains(NOT_RUNNING), "{wrong_password}");
    assert!(
        !wrong_password.contains("wrong"),
        "the password shown: {wrong_password}"
    );

    let bad_value = start_up_error(&at("postgres", "?sslmode=sometimes")).await;
    assert!(bad_value.contains("sslmode"), "{bad_value}");
    assert!(!bad_value.contains(NOT_RUNNING), "{bad_value}");

    let unknown = start_up_error(&at("postgres", "?colour=blue")).await;
    assert!(unknown.contains("colour"), "{unknown}");
    assert!(!unknown.contains(NOT_RUNNING), "{unknown}");

    cluster.stop_immediately();
    let stopped = start_up_error(&at("postgres", "")).await;
    assert!(stopped.contains(NOT_RUNNING), "{stopped}");
    assert!(
        stopped.contains(&format!("127.0.0.1:{}", cluster.port)),
        "{stopped}"
    );
}
