//! Access control end to end: every RPC refused without credentials; every RPC × role ×
//! inside/outside the scope with the code expected; expired and revoked tokens; what an admin
//! may grant; lists narrowed to the scope; the access log; TLS and mutual TLS.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use procura_proto::v1::{
    CreateGrantRequest, CreateJudicialAidRequest, CreateMeasureRequest, CreatePrincipalRequest,
    CreateResolutionRequest, CreateTokenRequest, DiffReleaseRequest, ExplainFigureRequest,
    GetCaseRequest, GetRegionRequest, GetReleaseRequest, GetRollupRequest, Grant,
    ImportCasesRequest, ListAccessEventsRequest, ListCaseRevisionsRequest, ListCasesRequest,
    ListRegionsRequest, ListReleasesRequest, MeasureKind, Outcome, Principal, PrincipalKind,
    PublishRollupRequest, ResolutionMethod, RevokeTokenRequest, Role, Token, UpdateCaseRequest,
    UpdateMeasureRequest, WhoAmIRequest,
};
use procura_server::api::guard::PERMISSIONS;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::helpers::*;

/// Calls `path` with an empty request (every field default) and returns the status code.
async fn raw_call(channel: Channel, path: &'static str, token: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("the channel is ready");
    let mut request = tonic::Request::new(());
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ASCII"),
        );
    }
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    match grpc.unary(request, path, codec).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn without_valid_credentials_every_procura_rpc_is_refused_and_health_stays_open() {
    let app = spawn_app().await;
    for (path, _) in PERMISSIONS {
        for token in [None, Some("procura_not-a-token"), Some("")] {
            let code = raw_call(app.channel.clone(), path, token).await;
            assert_eq!(code, Code::Unauthenticated, "{path} with {token:?}");
        }
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health answers without a token");
    assert_eq!(status.into_inner().status, 1);
    // A malformed authorization header names what is expected.
    let mut request = tonic::Request::new(WhoAmIRequest {});
    request
        .metadata_mut()
        .insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    let mut access =
        procura_proto::v1::access_service_client::AccessServiceClient::new(app.channel.clone());
    let status = access.who_am_i(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("Bearer <token>"), "{status:?}");
    assert_error_info(&status, "UNAUTHENTICATED");
}

/// The records the scope table touches: a case with a measure inside Yunnan (at 530102) and
/// one outside (at 110101, Beijing), and a release of each province.
struct World {
    inside_case: String,
    outside_case: String,
    inside_measure: String,
    outside_measure: String,
    inside_release: String,
    outside_release: String,
}

async fn world(app: &TestApp) -> World {
    let with_measure = |region: &str, number: &str| {
        let mut case = valid_case(region, number);
        case.measures
            .push(measure(MeasureKind::Protest, date(2020, 4, 1)));
        case
    };
    let inside = app.create_case(with_measure("530102", "IN-1")).await;
    let outside = app.create_case(with_measure("110101", "OUT-1")).await;
    let publish = |region: &str| PublishRollupRequest {
        rollup: Some(GetRollupRequest {
            region: format!("regions/{region}"),
            period: year(2020),
            ..Default::default()
        }),
        title: format!("2020 {region}"),
        ..Default::default()
    };
    let mut reports = app.reports.clone();
    let inside_release = reports.publish_rollup(publish("530000")).await.unwrap();
    let outside_release = reports.publish_rollup(publish("110000")).await.unwrap();
    World {
        inside_measure: inside.measures[0].name.clone(),
        outside_measure: outside.measures[0].name.clone(),
        inside_case: inside.name,
        outside_case: outside.name,
        inside_release: inside_release.into_inner().release.unwrap().name,
        outside_release: outside_release.into_inner().release.unwrap().name,
    }
}

static NUMBER: AtomicUsize = AtomicUsize::new(0);

fn fresh_number() -> String {
    format!("T-{}", NUMBER.fetch_add(1, Ordering::Relaxed))
}

/// Makes one call of `rpc` as `clients`, touching the world inside or outside Yunnan.
async fn call(rpc: &str, clients: &Clients, w: &World, inside: bool) -> Code {
    let pick = |a: &str, b: &str| if inside { a.to_owned() } else { b.to_owned() };
    let case = pick(&w.inside_case, &w.outside_case);
    let region = pick("530102", "110101");
    let province = pick("530000", "110000");
    let (mut cases, mut reports, mut regions, mut access) = (
        clients.cases.clone(),
        clients.reports.clone(),
        clients.regions.clone(),
        clients.access.clone(),
    );
    let rollup = GetRollupRequest {
        region: format!("regions/{province}"),
        period: year(2020),
        ..Default::default()
    };
    let result = match rpc {
        "GetRegion" => regions
            .get_region(GetRegionRequest {
                name: format!("regions/{region}"),
            })
            .await
            .map(drop),
        "ListRegions" => regions
            .list_regions(ListRegionsRequest {
                parent: format!("regions/{province}"),
                ..Default::default()
            })
            .await
            .map(drop),
        "CreateCase" => cases
            .create_case(procura_proto::v1::CreateCaseRequest {
                case: Some(valid_case(&region, &fresh_number())),
                ..Default::default()
            })
            .await
            .map(drop),
        "GetCase" => cases
            .get_case(GetCaseRequest { name: case })
            .await
            .map(drop),
        "ListCases" => cases
            .list_cases(ListCasesRequest {
                region: format!("regions/{province}"),
                ..Default::default()
            })
            .await
            .map(drop),
        "UpdateCase" => {
            let mut changed = valid_case(&region, "ignored");
            changed.name = case;
            changed.summary = format!("edited {}", fresh_number());
            cases
                .update_case(UpdateCaseRequest {
                    case: Some(changed),
                    update_mask: Some(field_mask(&["summary"])),
                    reason: "test".into(),
                })
                .await
                .map(drop)
        }
        "CreateMeasure" => cases
            .create_measure(CreateMeasureRequest {
                parent: case,
                measure: Some(measure(MeasureKind::Protest, date(2020, 5, 1))),
                ..Default::default()
            })
            .await
            .map(drop),
        "UpdateMeasure" => {
            let mut m = measure(MeasureKind::Protest, date(2020, 4, 2));
            m.name = pick(&w.inside_measure, &w.outside_measure);
            cases
                .update_measure(UpdateMeasureRequest {
                    measure: Some(m),
                    update_mask: Some(field_mask(&["issued_on"])),
                    reason: "test".into(),
                })
                .await
                .map(drop)
        }
        "CreateResolution" => {
            // A case has one resolution: each call gets a case of its own.
            let parent = if inside {
                w.inside_case.clone()
            } else {
                w.outside_case.clone()
            };
            cases
                .create_resolution(CreateResolutionRequest {
                    parent,
                    resolution: Some(resolution(
                        ResolutionMethod::Reconciliation,
                        date(2020, 6, 1),
                    )),
                    ..Default::default()
                })
                .await
                .map(drop)
        }
        "CreateJudicialAid" => cases
            .create_judicial_aid(CreateJudicialAidRequest {
                parent: case,
                aid_grant: Some(aid(date(2020, 6, 2), 10_000)),
                ..Default::default()
            })
            .await
            .map(drop),
        "ListCaseRevisions" => cases
            .list_case_revisions(ListCaseRevisionsRequest {
                parent: case,
                ..Default::default()
            })
            .await
            .map(drop),
        "ImportCases" => {
            let batch = ImportCasesRequest {
                batch_number: 1,
                cases: vec![valid_case(&region, &fresh_number())],
            };
            match cases.import_cases(tokio_stream::iter(vec![batch])).await {
                Err(status) => Err(status),
                Ok(response) => {
                    let mut stream = response.into_inner();
                    match stream.message().await {
                        Ok(Some(_)) => Ok(()),
                        Ok(None) => Ok(()),
                        Err(status) => Err(status),
                    }
                }
            }
        }
        "GetRollup" => reports.get_rollup(rollup).await.map(drop),
        "PublishRollup" => reports
            .publish_rollup(PublishRollupRequest {
                rollup: Some(rollup),
                title: "t".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "GetRelease" => reports
            .get_release(GetReleaseRequest {
                name: pick(&w.inside_release, &w.outside_release),
            })
            .await
            .map(drop),
        "ListReleases" => reports
            .list_releases(ListReleasesRequest::default())
            .await
            .map(drop),
        "DiffRelease" => reports
            .diff_release(DiffReleaseRequest {
                name: pick(&w.inside_release, &w.outside_release),
            })
            .await
            .map(drop),
        "ExplainFigure" => reports
            .explain_figure(ExplainFigureRequest {
                region: format!("regions/{province}"),
                period: year(2020),
                metric: "cases.accepted".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "WhoAmI" => access.who_am_i(WhoAmIRequest {}).await.map(drop),
        "ListAccessEvents" => access
            .list_access_events(ListAccessEventsRequest {
                region: format!("regions/{province}"),
                ..Default::default()
            })
            .await
            .map(drop),
        "CreateGrant" => access
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: "principals/grantee".into(),
                    role: Role::Viewer as i32,
                    region: format!("regions/{province}"),
                    ..Default::default()
                }),
            })
            .await
            .map(drop),
        other => panic!("no call written for {other}"),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// The role each RPC of the table needs; `None`: any authenticated caller. Lists that are
/// narrowed to the scope rather than refused answer OK outside it too.
const TABLE: [(&str, Option<Role>); 21] = [
    ("GetRegion", None),
    ("ListRegions", None),
    ("WhoAmI", None),
    ("CreateCase", Some(Role::Submitter)),
    ("UpdateCase", Some(Role::Submitter)),
    ("CreateMeasure", Some(Role::Submitter)),
    ("UpdateMeasure", Some(Role::Submitter)),
    ("CreateJudicialAid", Some(Role::Submitter)),
    ("ImportCases", Some(Role::Submitter)),
    ("CreateResolution", Some(Role::Submitter)),
    ("GetCase", Some(Role::Viewer)),
    ("ListCases", Some(Role::Viewer)),
    ("GetRollup", Some(Role::Viewer)),
    ("GetRelease", Some(Role::Viewer)),
    ("ListReleases", Some(Role::Viewer)),
    ("DiffRelease", Some(Role::Viewer)),
    ("ExplainFigure", Some(Role::Viewer)),
    ("PublishRollup", Some(Role::Publisher)),
    ("ListCaseRevisions", Some(Role::Auditor)),
    ("ListAccessEvents", Some(Role::Auditor)),
    ("CreateGrant", Some(Role::Admin)),
];

#[tokio::test]
async fn every_rpc_answers_each_role_inside_and_outside_its_scope_as_expected() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // The principal an admin grants to in the table.
    app.principal_token("grantee", &[]).await;
    let roles = [
        Role::Submitter,
        Role::Viewer,
        Role::Publisher,
        Role::Auditor,
        Role::Admin,
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for role in roles {
        // An admin grants only roles it holds: the admin of the table also views there.
        let mut grants = vec![(role, "530000")];
        if role == Role::Admin {
            grants.push((Role::Viewer, "530000"));
        }
        let id = format!("{}-yunnan", format!("{role:?}").to_lowercase());
        let clients = app.principal(&id, &grants).await;
        for (rpc, needs) in TABLE {
            let allowed = needs.is_none_or(|r| grants.iter().any(|(held, _)| *held == r));
            for inside in [true, false] {
                let expected = match (allowed, inside, rpc) {
                    (false, _, _) => Code::PermissionDenied,
                    (true, true, _) => Code::Ok,
                    // Not region-bound, or narrowed to the scope.
                    (true, false, "GetRegion" | "ListRegions" | "WhoAmI" | "ListReleases") => {
                        Code::Ok
                    }
                    (true, false, _) => Code::PermissionDenied,
                };
                let got = call(rpc, &clients, &w, inside).await;
                checked += 1;
                if got != expected {
                    failures.push(format!(
                        "{rpc} as {role:?} {}: expected {expected:?}, got {got:?}",
                        if inside { "inside" } else { "outside" }
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, roles.len() * TABLE.len() * 2);
}

#[tokio::test]
async fn a_submitter_at_a_county_writes_there_only_and_a_provincial_viewer_reads_its_province_only()
{
    let app = spawn_app().await;
    let clerk = app
        .principal("wuhua-clerk", &[(Role::Submitter, "530102")])
        .await;
    let created = clerk
        .cases
        .clone()
        .create_case(procura_proto::v1::CreateCaseRequest {
            case: Some(valid_case("530102", "WH-1")),
            ..Default::default()
        })
        .await
        .expect("a submitter writes at its own procuratorate")
        .into_inner()
        .case
        .unwrap();
    for elsewhere in ["530103", "530100", "000000", "110101"] {
        let status = clerk
            .cases
            .clone()
            .create_case(procura_proto::v1::CreateCaseRequest {
                case: Some(valid_case(elsewhere, "WH-2")),
                ..Default::default()
            })
            .await
            .unwrap_err();
        let info = assert_status(&status, Code::PermissionDenied, "PERMISSION_DENIED");
        assert_eq!(info.metadata["permission"], "cases.write", "{elsewhere}");
        assert_eq!(info.metadata["region"], elsewhere);
    }
    let status = clerk
        .reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: "regions/530102".into(),
                period: year(2020),
                ..Default::default()
            }),
            title: "not allowed".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // A missing case is PERMISSION_DENIED to those who cannot see everywhere (AIP-211), and
    // NOT_FOUND to the national admin.
    let missing = GetCaseRequest {
        name: "cases/999999".into(),
    };
    let viewer = app
        .principal("yunnan-viewer", &[(Role::Viewer, "530000")])
        .await;
    let status = viewer
        .cases
        .clone()
        .get_case(missing.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = app.cases.clone().get_case(missing).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    viewer
        .cases
        .clone()
        .get_case(GetCaseRequest {
            name: created.name.clone(),
        })
        .await
        .expect("a provincial viewer reads a case of its province");

    let rollup = |region: &str| GetRollupRequest {
        region: format!("regions/{region}"),
        period: year(2020),
        ..Default::default()
    };
    viewer
        .reports
        .clone()
        .get_rollup(rollup("530000"))
        .await
        .expect("Yunnan's rollup");
    let status = viewer
        .reports
        .clone()
        .get_rollup(rollup("000000"))
        .await
        .unwrap_err();
    let info = assert_status(&status, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_eq!(info.metadata["permission"], "reports.read");
    assert_eq!(info.metadata["region"], "000000");
}

#[tokio::test]
async fn a_request_id_that_made_another_procuratorates_case_gives_nothing_of_it_back() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let beijing = app
        .create_case_request(procura_proto::v1::CreateCaseRequest {
            case: Some(valid_case("110101", "BJ-SECRET")),
            request_id: key.clone(),
        })
        .await
        .unwrap();
    let clerk = app
        .principal("wuhua-clerk", &[(Role::Submitter, "530102")])
        .await;
    let status = clerk
        .cases
        .clone()
        .create_case(procura_proto::v1::CreateCaseRequest {
            case: Some(valid_case("530102", "WH-1")),
            request_id: key,
        })
        .await
        .unwrap_err();
    assert_invalid_field(&status, "request_id");
    assert!(!format!("{status:?}").contains("BJ-SECRET"), "{status:?}");
    assert!(!format!("{status:?}").contains(&beijing.name), "{status:?}");

    // Nor does a release's.
    let key = uuid::Uuid::new_v4().to_string();
    let publish = |region: &str, key: &str| PublishRollupRequest {
        rollup: Some(GetRollupRequest {
            region: format!("regions/{region}"),
            period: year(2020),
            ..Default::default()
        }),
        title: format!("{region} 2020"),
        request_id: key.to_owned(),
        ..Default::default()
    };
    app.reports
        .clone()
        .publish_rollup(publish("000000", &key))
        .await
        .unwrap();
    let press = app
        .principal("yunnan-press", &[(Role::Publisher, "530000")])
        .await;
    let status = press
        .reports
        .clone()
        .publish_rollup(publish("530000", &key))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "request_id");
    let retried = press
        .reports
        .clone()
        .publish_rollup(publish("530000", &uuid::Uuid::new_v4().to_string()))
        .await
        .expect("a fresh key publishes");
    assert!(retried.into_inner().release.is_some());
}

#[tokio::test]
async fn a_refusal_tells_nothing_of_where_a_record_is_and_viewers_see_no_revisions() {
    let app = spawn_app().await;
    let beijing = app.create_case(valid_case("110101", "BJ-1")).await;
    let viewer = app
        .principal("yunnan-viewer", &[(Role::Viewer, "530000")])
        .await;
    let refused = |status: tonic::Status| {
        let info = assert_status(&status, Code::PermissionDenied, "PERMISSION_DENIED");
        (info.metadata["region"].clone(), status.message().to_owned())
    };
    let existing = refused(
        viewer
            .cases
            .clone()
            .get_case(GetCaseRequest {
                name: beijing.name.clone(),
            })
            .await
            .unwrap_err(),
    );
    let missing = refused(
        viewer
            .cases
            .clone()
            .get_case(GetCaseRequest {
                name: "cases/999999".into(),
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(
        existing, missing,
        "a case outside the scope answers as a missing one"
    );
    assert!(!existing.1.contains("110101"), "{existing:?}");

    // A viewer's diff names the cases that moved a figure, not their revisions.
    let mut case = app.create_case(valid_case("530102", "YN-1")).await;
    let release = app
        .reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: "regions/530000".into(),
                period: year(2020),
                ..Default::default()
            }),
            title: "Yunnan 2020".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .release
        .unwrap();
    case.status = procura_proto::v1::CaseStatus::Withdrawn as i32;
    app.update_case(case, &["status"]).await.unwrap();
    let diff = |clients: &Clients| {
        let mut reports = clients.reports.clone();
        let name = release.name.clone();
        async move {
            reports
                .diff_release(DiffReleaseRequest { name })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let seen = diff(&viewer).await;
    let records: Vec<_> = seen.changes.iter().flat_map(|c| &c.records).collect();
    assert!(!records.is_empty(), "{seen:?}");
    assert!(records.iter().all(|r| r.revisions.is_empty()), "{seen:?}");
    let auditor = app
        .principal(
            "yunnan-auditor",
            &[(Role::Viewer, "530000"), (Role::Auditor, "530000")],
        )
        .await;
    let audited = diff(&auditor).await;
    assert!(
        audited
            .changes
            .iter()
            .flat_map(|c| &c.records)
            .all(|r| !r.revisions.is_empty()),
        "{audited:?}"
    );
}

#[tokio::test]
async fn a_token_acts_with_its_principals_roles_so_an_admin_mints_only_what_it_holds() {
    let app = spawn_app().await;
    let yunnan_admin = app
        .principal(
            "yunnan-admin",
            &[(Role::Admin, "530000"), (Role::Viewer, "530000")],
        )
        .await;
    app.principal_token("kunming-clerk", &[(Role::Submitter, "530100")])
        .await;
    app.principal_token("kunming-viewer", &[(Role::Viewer, "530100")])
        .await;
    app.principal_token("nobody-yet", &[]).await;
    let mint = |id: &str| CreateTokenRequest {
        token: Some(Token {
            principal: format!("principals/{id}"),
            expire_time: Some(expiry_in_days(1)),
            ..Default::default()
        }),
    };
    let mut access = yunnan_admin.access.clone();
    access
        .create_token(mint("kunming-viewer"))
        .await
        .expect("a viewer inside its scope, a role it holds");
    for id in ["kunming-clerk", "nobody-yet"] {
        let status = access.create_token(mint(id)).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{id}");
    }
    // Nor may it list every token of the country.
    let status = access
        .list_tokens(procura_proto::v1::ListTokensRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn lists_are_narrowed_to_the_scope() {
    let app = spawn_app().await;
    for (region, number) in [("530102", "A"), ("530381", "B"), ("110101", "C")] {
        app.create_case(valid_case(region, number)).await;
    }
    let viewer = app
        .principal("yunnan-viewer", &[(Role::Viewer, "530000")])
        .await;
    let listed = viewer
        .cases
        .clone()
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut numbers: Vec<&str> = listed
        .cases
        .iter()
        .map(|c| c.case_number.as_str())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, ["A", "B"]);
    let status = viewer
        .cases
        .clone()
        .list_cases(ListCasesRequest {
            region: "regions/110000".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused_from_the_next_call() {
    let app = spawn_app().await;
    let mut access = app.access.clone();
    app.principal_token("short-lived", &[(Role::Viewer, "000000")])
        .await;
    let made = access
        .create_token(CreateTokenRequest {
            token: Some(Token {
                principal: "principals/short-lived".into(),
                description: "to revoke".into(),
                expire_time: Some(expiry_in_days(1)),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let clients = app.clients(&made.secret);
    let who = clients
        .access
        .clone()
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(who.principal.unwrap().id, "short-lived");
    assert_eq!(who.authenticated_by, "token");
    access
        .revoke_token(RevokeTokenRequest {
            name: made.token.unwrap().name,
        })
        .await
        .unwrap();
    // The very next call, with no wait: revocation through this server is immediate.
    let status = clients
        .access
        .clone()
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // A token that expires in a second works, then is refused.
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let brief = access
        .create_token(CreateTokenRequest {
            token: Some(Token {
                principal: "principals/short-lived".into(),
                expire_time: Some(prost_types::Timestamp {
                    seconds: soon.timestamp(),
                    nanos: soon.timestamp_subsec_nanos() as i32,
                }),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .secret;
    let brief = app.clients(&brief);
    brief
        .access
        .clone()
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let status = brief
        .access
        .clone()
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("expired"), "{status:?}");
}

#[tokio::test]
async fn an_admin_grants_only_within_its_scope_and_only_roles_it_holds() {
    let app = spawn_app().await;
    let yunnan_admin = app
        .principal(
            "yunnan-admin",
            &[(Role::Admin, "530000"), (Role::Viewer, "530000")],
        )
        .await;
    app.principal_token("newcomer", &[]).await;
    let grant = |role: Role, region: &str| CreateGrantRequest {
        grant: Some(Grant {
            principal: "principals/newcomer".into(),
            role: role as i32,
            region: format!("regions/{region}"),
            ..Default::default()
        }),
    };
    let mut access = yunnan_admin.access.clone();
    access
        .create_grant(grant(Role::Viewer, "530100"))
        .await
        .expect("a role it holds, inside its scope");
    let listed = access
        .list_grants(procura_proto::v1::ListGrantsRequest {
            principal: "principals/newcomer".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .grants;
    let listed: Vec<(&str, i32, &str)> = listed
        .iter()
        .map(|g| (g.principal.as_str(), g.role, g.region.as_str()))
        .collect();
    assert_eq!(
        listed,
        [("principals/newcomer", Role::Viewer as i32, "regions/530100")]
    );
    for (role, region) in [
        (Role::Viewer, "000000"),
        (Role::Viewer, "110000"),
        (Role::Submitter, "530100"),
        (Role::Admin, "000000"),
    ] {
        let status = access.create_grant(grant(role, region)).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{role:?} at {region}"
        );
    }
    // Nor may it take over the national admin with a token of its own.
    let status = access
        .create_token(CreateTokenRequest {
            token: Some(Token {
                principal: "principals/admin".into(),
                expire_time: Some(expiry_in_days(1)),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // A principal id is checked.
    let status = app
        .access
        .clone()
        .create_principal(CreatePrincipalRequest {
            principal: Some(Principal {
                id: "Bad Id".into(),
                display_name: "张三".into(),
                kind: PrincipalKind::Person as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_invalid_field(&status, "principal.id");
}

#[tokio::test]
async fn chinese_display_names_are_kept_and_revisions_name_the_real_caller() {
    let app = spawn_app().await;
    let secret = app
        .named_principal_token("zhang-san", "张三", &[(Role::Submitter, "530000")])
        .await;
    let zhang = app.clients(&secret);
    let who = zhang
        .access
        .clone()
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(who.principal.unwrap().display_name, "张三");
    let mut request = tonic::Request::new(procura_proto::v1::CreateCaseRequest {
        case: Some(valid_case("530102", "ZS-1")),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("procura-actor", "auditor".parse().unwrap());
    let case = zhang
        .cases
        .clone()
        .create_case(request)
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let revisions = app
        .cases
        .clone()
        .list_case_revisions(ListCaseRevisionsRequest {
            parent: case.name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    assert_eq!(revisions[0].actor, "zhang-san");
}

#[tokio::test]
async fn denials_and_writes_are_in_the_access_log_which_never_changes() {
    let app = spawn_app().await;
    let clerk = app.principal("clerk", &[(Role::Submitter, "530102")]).await;
    let denied = clerk
        .cases
        .clone()
        .create_case(procura_proto::v1::CreateCaseRequest {
            case: Some(valid_case("110101", "X")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let written = clerk
        .cases
        .clone()
        .create_case(procura_proto::v1::CreateCaseRequest {
            case: Some(valid_case("530102", "Y")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    // A read of a case's record is logged too.
    app.get_case(&written.name).await;
    let _ = raw_call(
        app.channel.clone(),
        "/procura.v1.CaseService/GetCase",
        Some("procura_wrong"),
    )
    .await;

    let events = app
        .access
        .clone()
        .list_access_events(ListAccessEventsRequest {
            principal: "principals/clerk".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let seen: Vec<(&str, i32, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.method.as_str(),
                e.outcome,
                e.region.as_str(),
                e.permission.as_str(),
                e.principal.as_str(),
            )
        })
        .collect();
    assert!(
        seen.contains(&(
            "/procura.v1.CaseService/CreateCase",
            Outcome::Denied as i32,
            "regions/110101",
            "cases.write",
            "principals/clerk"
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            "/procura.v1.CaseService/CreateCase",
            Outcome::Ok as i32,
            "regions/530102",
            "cases.write",
            "principals/clerk"
        )),
        "{seen:?}"
    );
    let all = app
        .access
        .clone()
        .list_access_events(ListAccessEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(
        all.iter()
            .any(|e| e.method == "/procura.v1.CaseService/GetCase"
                && e.principal == "principals/admin"
                && e.resource == written.name)
    );
    assert!(
        all.iter()
            .any(|e| e.outcome == Outcome::Unauthenticated as i32 && e.principal.is_empty())
    );
    // Filtered by outcome.
    let denials = app
        .access
        .clone()
        .list_access_events(ListAccessEventsRequest {
            outcome: Outcome::Denied as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(!denials.is_empty());
    assert!(denials.iter().all(|e| e.outcome == Outcome::Denied as i32));

    // The log refuses to change, even to the database's owner.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for statement in [
        "UPDATE access_events SET principal = 'nobody'",
        "DELETE FROM access_events",
        "TRUNCATE access_events",
    ] {
        let refused = diesel::sql_query(statement).execute(&mut conn).await;
        assert!(refused.is_err(), "{statement} was allowed");
    }
}

/// Reads made at once are appended together (one row for a principal's reads through one
/// method), yet each is listed as an event of its own, with its record and region, once, through
/// every page and filter.
#[tokio::test]
async fn reads_made_at_once_are_each_listed_once_with_their_record() {
    let app = spawn_app().await;
    let mut names = Vec::new();
    for i in 0..30 {
        names.push(
            app.create_case(valid_case("530102", &format!("R{i}")))
                .await
                .name,
        );
    }
    let elsewhere = app.create_case(valid_case("110101", "E")).await.name;
    let reader = app.principal("reader", &[(Role::Viewer, "530000")]).await;
    let reads = names.iter().map(|name| {
        let mut cases = reader.cases.clone();
        let name = name.clone();
        async move {
            cases
                .get_case(GetCaseRequest { name })
                .await
                .map(|r| r.into_inner().case.map(|c| c.name).unwrap_or_default())
        }
    });
    let read: Vec<String> = futures::future::try_join_all(reads).await.unwrap();
    assert_eq!(read.len(), names.len());
    // A denial is committed before its answer, and after every read queued before it.
    let denied = reader
        .cases
        .clone()
        .get_case(GetCaseRequest {
            name: elsewhere.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let list = |request: ListAccessEventsRequest| {
        let mut access = app.access.clone();
        async move {
            let mut events = Vec::new();
            let mut request = ListAccessEventsRequest {
                page_size: 7,
                ..request
            };
            loop {
                let page = access
                    .list_access_events(request.clone())
                    .await
                    .unwrap()
                    .into_inner();
                assert!(page.events.len() <= 7);
                events.extend(page.events);
                if page.next_page_token.is_empty() {
                    return events;
                }
                request.page_token = page.next_page_token;
            }
        }
    };
    let events = list(ListAccessEventsRequest {
        principal: "principals/reader".into(),
        ..Default::default()
    })
    .await;
    let mut listed: Vec<&str> = events
        .iter()
        .filter(|e| {
            e.method == "/procura.v1.CaseService/GetCase" && e.outcome == Outcome::Ok as i32
        })
        .inspect(|e| {
            assert_eq!(e.region, "regions/530102");
            assert_eq!(e.code, "OK");
            assert_eq!(e.permission, "cases.read");
        })
        .map(|e| e.resource.as_str())
        .collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected, "each read listed once");
    let mut event_names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    event_names.sort_unstable();
    event_names.dedup();
    assert_eq!(event_names.len(), events.len(), "event names are unique");
    assert!(
        events
            .iter()
            .any(|e| e.outcome == Outcome::Denied as i32 && e.region == "regions/110101")
    );
    // Newest first, in the order appended: the denial came after every read was answered.
    assert_eq!(events[0].outcome, Outcome::Denied as i32, "{:?}", events[0]);

    // Filters apply to each read, not to the row that holds it.
    let in_yunnan = list(ListAccessEventsRequest {
        principal: "principals/reader".into(),
        region: "regions/530102".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(in_yunnan.len(), names.len());
    let later = list(ListAccessEventsRequest {
        principal: "principals/reader".into(),
        start_time: events[0].time.map(|mut t| {
            t.seconds += 1;
            t
        }),
        ..Default::default()
    })
    .await;
    assert!(later.is_empty(), "{later:?}");

    // Stored in fewer rows than reads.
    #[derive(diesel::QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let rows: Rows = diesel::sql_query(
        "SELECT count(*) AS rows FROM access_events \
         WHERE principal = 'reader' AND method = '/procura.v1.CaseService/GetCase' AND outcome = 1",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(
        rows.rows < names.len() as i64,
        "{} rows for {} reads",
        rows.rows,
        names.len()
    );
}

/// A CA, a server certificate for localhost and a client certificate naming `service`.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki(service: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.subject_alt_names = vec![SanType::URI(
        format!("procura://svc/{service}").try_into().unwrap(),
    )];
    let client = client_params.signed_by(&client_key, &issuer).unwrap();
    Pki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

#[tokio::test]
async fn tls_carries_tokens_and_mutual_tls_identifies_a_service() {
    let pki = pki("stats-exporter");
    let dir = std::env::temp_dir().join(format!("procura-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let tls = procura_server::config::TlsFiles {
        cert: write("server.pem", &pki.server_cert),
        key: write("server.key", &pki.server_key),
        client_ca: Some(write("ca.pem", &pki.ca)),
    };
    let app = spawn_app_with(|settings| settings.tls = Some(tls)).await;
    // The service principal, made by the admin over TLS with a token.
    let base = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    let url = format!("https://localhost:{}", app.addr.port());
    let channel = Endpoint::from_shared(url.clone())
        .unwrap()
        .tls_config(base.clone())
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection");
    let admin = Clients::new(&channel, &app.token);
    admin
        .access
        .clone()
        .create_principal(CreatePrincipalRequest {
            principal: Some(Principal {
                id: "stats-exporter".into(),
                display_name: "统计导出服务".into(),
                kind: PrincipalKind::Service as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    admin
        .access
        .clone()
        .create_grant(CreateGrantRequest {
            grant: Some(Grant {
                principal: "principals/stats-exporter".into(),
                role: Role::Viewer as i32,
                region: "regions/530000".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();

    // With its client certificate and no token, the service is itself.
    let mutual = Endpoint::from_shared(url.clone())
        .unwrap()
        .tls_config(base.identity(Identity::from_pem(&pki.client_cert, &pki.client_key)))
        .unwrap()
        .connect()
        .await
        .expect("a mutual TLS connection");
    let mut access =
        procura_proto::v1::access_service_client::AccessServiceClient::new(mutual.clone());
    let who = access
        .who_am_i(WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(who.principal.unwrap().id, "stats-exporter");
    assert_eq!(who.authenticated_by, "certificate");
    // One credential a call: a certificate and a token together are refused.
    let mut both = tonic::Request::new(WhoAmIRequest {});
    both.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", app.token).parse().unwrap(),
    );
    let status = access.who_am_i(both).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut reports = procura_proto::v1::report_service_client::ReportServiceClient::new(mutual);
    let rollup = |region: &str| GetRollupRequest {
        region: format!("regions/{region}"),
        period: year(2020),
        ..Default::default()
    };
    reports.get_rollup(rollup("530000")).await.unwrap();
    let status = reports.get_rollup(rollup("000000")).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Plaintext to a TLS server gets nowhere.
    let plain = Endpoint::from_shared(format!("http://127.0.0.1:{}", app.addr.port()))
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        let code = raw_call(plain, "/procura.v1.AccessService/WhoAmI", Some(&app.token)).await;
        assert_ne!(code, Code::Ok);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a program with `args` and returns (exit code, stdout, stderr).
async fn run(program: std::path::PathBuf, args: Vec<String>) -> (Option<i32>, String, String) {
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(program)
            .args(args)
            .env_remove("PROCURA_TOKEN")
            .env_remove("PROCURA_SERVER")
            .env(
                "PROCURA_CREDENTIALS_FILE",
                "/nonexistent/procura-credentials",
            )
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
    })
    .await
    .unwrap()
    .expect("the program runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_and_grpcurl_speak_tls_and_mutual_tls() {
    let pki = pki("stats-exporter");
    let dir = std::env::temp_dir().join(format!("procura-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (ca, cert, key) = (
        write("ca.pem", &pki.ca),
        write("exporter.pem", &pki.client_cert),
        write("exporter.key", &pki.client_key),
    );
    let tls = procura_server::config::TlsFiles {
        cert: write("server.pem", &pki.server_cert).into(),
        key: write("server.key", &pki.server_key).into(),
        client_ca: Some(ca.clone().into()),
    };
    let app = spawn_app_with(|settings| settings.tls = Some(tls)).await;
    let server = format!("https://localhost:{}", app.addr.port());
    let cli = |extra: &[&str]| {
        let mut args = vec![
            "--server".to_owned(),
            server.clone(),
            "--ca".to_owned(),
            ca.clone(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args
    };
    // The admin, by token over TLS, makes the service principal.
    let (code, out, err) = run(
        cli_binary(),
        cli(&[
            "--token",
            &app.token,
            "admin",
            "principals",
            "create",
            "stats-exporter",
            "--name",
            "统计导出服务",
            "--service",
        ]),
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(
        cli_binary(),
        cli(&[
            "--token",
            &app.token,
            "admin",
            "grants",
            "create",
            "stats-exporter",
            "--role",
            "viewer",
            "--region",
            "530000",
        ]),
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    // The service, by its certificate alone.
    let (code, out, err) = run(
        cli_binary(),
        cli(&["--cert", &cert, "--key", &key, "auth", "whoami"]),
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(row(&out, "Principal:"), ["stats-exporter"], "{out}");
    assert_eq!(row(&out, "Authenticated by:"), ["certificate"], "{out}");
    // Without trusting the server's CA, the CLI refuses the connection.
    let (code, ..) = run(
        cli_binary(),
        vec![
            "--server".into(),
            server.clone(),
            "--token".into(),
            app.token.clone(),
            "auth".into(),
            "whoami".into(),
        ],
    )
    .await;
    assert_ne!(code, Some(0));

    // grpcurl, with the service's certificate, and with the admin's token.
    let address = format!("localhost:{}", app.addr.port());
    let (code, out, err) = run(
        grpcurl(),
        vec![
            "-cacert".into(),
            ca.clone(),
            "-cert".into(),
            cert.clone(),
            "-key".into(),
            key.clone(),
            address.clone(),
            "procura.v1.AccessService/WhoAmI".into(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("\"authenticatedBy\": \"certificate\""),
        "{out}"
    );
    assert!(out.contains("\"id\": \"stats-exporter\""), "{out}");
    let (code, out, err) = run(
        grpcurl(),
        vec![
            "-cacert".into(),
            ca.clone(),
            "-H".into(),
            format!("authorization: Bearer {}", app.token),
            address,
            "procura.v1.AccessService/WhoAmI".into(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\"id\": \"admin\""), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_non_loopback_address_without_tls_is_refused_unless_plaintext_is_accepted() {
    let settings = procura_server::config::Settings::new(
        "0.0.0.0:0".parse().unwrap(),
        &database_url("procura_never_created"),
    );
    let refused = procura_server::startup::Application::build(settings.clone())
        .await
        .err()
        .expect("plaintext on 0.0.0.0 is refused");
    assert!(refused.to_string().contains("--tls-cert"), "{refused:#}");
    let app = spawn_app_with(|s| {
        s.listen = "0.0.0.0:0".parse().unwrap();
        s.insecure_plaintext = true;
    })
    .await;
    app.access
        .clone()
        .who_am_i(WhoAmIRequest {})
        .await
        .expect("accepted with --insecure-plaintext");
}
