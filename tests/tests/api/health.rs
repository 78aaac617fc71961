//! gRPC health checking and server reflection (v1 and v1alpha), as grpcurl uses them.

use prost::Message;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{TestApp, spawn_app};

async fn health(app: &TestApp, service: &str) -> Result<i32, tonic::Status> {
    let response = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status)
}

#[tokio::test]
async fn health_check_reports_serving() {
    let app = spawn_app().await;

    for service in [
        "",
        "procura.v1.CaseService",
        "procura.v1.RegionService",
        "procura.v1.ReportService",
    ] {
        let status = health(&app, service)
            .await
            .unwrap_or_else(|s| panic!("Health/Check {service:?} failed: {s:?}"));
        assert_eq!(
            status,
            ServingStatus::Serving as i32,
            "Health/Check {service:?}"
        );
    }
}

#[tokio::test]
async fn health_check_of_an_unknown_service_is_not_found() {
    let app = spawn_app().await;

    let status = health(&app, "procura.v1.NoSuchService")
        .await
        .expect_err("an unknown service");

    assert_eq!(status.code(), tonic::Code::NotFound);
}

const SERVICES: [&str; 4] = [
    "procura.v1.CaseService",
    "procura.v1.RegionService",
    "procura.v1.ReportService",
    "grpc.health.v1.Health",
];

fn declares(file_descriptors: &[Vec<u8>], package: &str, message: &str) -> bool {
    file_descriptors.iter().any(|bytes| {
        let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
            .expect("a FileDescriptorProto");
        file.package() == package && file.message_type.iter().any(|m| m.name() == message)
    })
}

/// The tests of one version of server reflection (`tonic_reflection::pb::<version>`): it lists
/// the services and resolves each symbol of `$symbols` to a file declaring `(package, message)`.
macro_rules! reflection_tests {
    ($version:ident, [$(($symbol:literal, $package:literal, $message:literal)),+ $(,)?]) => {
        mod $version {
            use std::collections::BTreeSet;

            use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;

            use super::{SERVICES, declares};
            use crate::helpers::{TestApp, spawn_app};

            /// Asks reflection one question and returns the answer.
            async fn reflect(app: &TestApp, request: MessageRequest) -> MessageResponse {
                use tonic_reflection::pb::$version::ServerReflectionRequest;
                use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
                let request = ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(request),
                };
                let mut stream = ServerReflectionClient::new(app.channel.clone())
                    .server_reflection_info(tokio_stream::iter(vec![request]))
                    .await
                    .expect(concat!("reflection ", stringify!($version), " is served"))
                    .into_inner();
                stream
                    .message()
                    .await
                    .expect(concat!("a reflection ", stringify!($version), " answer"))
                    .expect("one message")
                    .message_response
                    .expect("message_response is set")
            }

            #[tokio::test]
            async fn reflection_lists_services_and_resolves_error_details() {
                let app = spawn_app().await;

                let MessageResponse::ListServicesResponse(list) =
                    reflect(&app, MessageRequest::ListServices(String::new())).await
                else {
                    panic!("ListServices answered with something else");
                };
                let names: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
                for service in SERVICES {
                    assert!(
                        names.contains(service),
                        "{service} is not listed: {names:?}"
                    );
                }

                $(
                    let MessageResponse::FileDescriptorResponse(files) = reflect(
                        &app,
                        MessageRequest::FileContainingSymbol($symbol.to_owned()),
                    )
                    .await
                    else {
                        panic!(concat!("FileContainingSymbol ", $symbol, " failed"));
                    };
                    assert!(declares(&files.file_descriptor_proto, $package, $message));
                )+
            }
        }
    };
}

reflection_tests!(
    v1,
    [
        ("google.rpc.BadRequest", "google.rpc", "BadRequest"),
        ("procura.v1.CaseService", "procura.v1", "Case"),
    ]
);
reflection_tests!(
    v1alpha,
    [("google.rpc.BadRequest", "google.rpc", "BadRequest")]
);

/// The harness itself: every test gets its own server and its own database.
#[tokio::test]
async fn each_test_app_has_its_own_server_and_database() {
    let first = spawn_app().await;
    let second = spawn_app().await;

    assert_ne!(first.db_url, second.db_url);
    assert_ne!(first.addr, second.addr);
    assert_eq!(first.url, format!("http://{}", first.addr));
    first
        .create_case(crate::helpers::valid_case("530102", "ONLY-IN-FIRST"))
        .await;

    let in_second = second
        .list_all_cases(procura_proto::v1::ListCasesRequest::default())
        .await;
    assert!(
        in_second.is_empty(),
        "the second database is fresh: {in_second:?}"
    );
}
