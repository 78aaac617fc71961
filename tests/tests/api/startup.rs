//! Start-up as an operator sees it: the server binary with PostgreSQL out of reach, and a
//! database that does not exist yet.

use std::process::Command;

use procura_proto::v1::GetRegionRequest;

use crate::helpers::*;

#[test]
fn an_unreachable_database_is_one_clear_line_and_a_failure_exit() {
    // Nothing listens on port 1.
    let output = Command::new(server_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/procura",
        ])
        .env("RUST_LOG", "off")
        .output()
        .expect("run procura-server");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("cannot reach PostgreSQL at 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(lines[0].contains("DATABASE_URL"), "{stderr}");
}

#[test]
fn a_database_url_that_is_not_postgres_is_refused() {
    let output = Command::new(server_binary())
        .args(["--listen", "127.0.0.1:0", "--database-url", "mysql://x/y"])
        .env("RUST_LOG", "off")
        .output()
        .expect("run procura-server");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("postgres://"));
}

#[tokio::test]
async fn a_missing_database_is_created_and_migrated() {
    let name = format!("procura_created_{}", uuid::Uuid::new_v4().simple());
    let mut settings =
        procura_server::config::Settings::new("127.0.0.1:0".parse().unwrap(), &database_url(&name));
    settings.pool_max_size = 2;
    let app = procura_server::startup::Application::build(settings)
        .await
        .expect("the server creates its database");
    let addr = app.local_addr();
    let token = app.bootstrap_token().expect("a bootstrap admin").to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut regions = Clients::new(&channel, &token).regions;
    let region = regions
        .get_region(GetRegionRequest {
            name: "regions/530100".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .region
        .unwrap();
    assert_eq!(region.display_name, "昆明市");
    drop(regions);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    drop_database_blocking(&name);
}
