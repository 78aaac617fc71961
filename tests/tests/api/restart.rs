//! A release "is returned byte for byte forever" (README): its GetRelease answer, encoded, is
//! the same before and after the server restarts on the same database, whatever changed in
//! the records meanwhile.

use std::collections::HashMap;

use procura_proto::v1::{
    CaseStatus, GetReleaseRequest, GetReleaseResponse, GetRollupRequest, ListReleasesRequest,
    MeasureKind, PublishRollupRequest, Qualifier, RegionLevel, Release,
};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::helpers::*;

async fn get_release(app: &TestApp, name: &str) -> GetReleaseResponse {
    app.reports
        .clone()
        .get_release(GetReleaseRequest {
            name: name.to_owned(),
        })
        .await
        .unwrap_or_else(|s| panic!("GetRelease {name}: {s:?}"))
        .into_inner()
}

async fn list_releases(app: &TestApp) -> Vec<Release> {
    app.reports
        .clone()
        .list_releases(ListReleasesRequest::default())
        .await
        .expect("ListReleases")
        .into_inner()
        .releases
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_release_reads_back_byte_for_byte_after_a_server_restart() {
    let app = spawn_app().await;
    let mut a = valid_case("530102", "A");
    a.measures = vec![answered(
        measure(MeasureKind::Protest, date(2020, 4, 1)),
        procura_proto::v1::Adoption::Adopted,
        date(2020, 5, 1),
    )];
    a.aid_grants = vec![aid(date(2020, 6, 1), 123_456)];
    let a = app.create_case(a).await;
    let mut b = valid_case("530000", "B");
    b.accepted_on = on(2019, 5, 1);
    app.create_case(b).await;
    let published = app
        .reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: region("530000"),
                period: year(2020),
                breakdown: RegionLevel::Prefecture as i32,
                include_indicators: true,
                ..Default::default()
            }),
            title: "Yunnan 2020 (云南)".to_owned(),
            qualifiers: HashMap::from([(
                "measures.protest".to_owned(),
                Qualifier::MoreThan as i32,
            )]),
            request_id: String::new(),
        })
        .await
        .expect("PublishRollup")
        .into_inner()
        .release
        .expect("the release");
    let before = get_release(&app, &published.name).await;
    let before_bytes = before.encode_to_vec();
    let before_hash = sha256_hex(&before_bytes);
    assert_eq!(
        before.release.as_ref(),
        Some(&published),
        "GetRelease gives the release as PublishRollup returned it"
    );
    assert!(
        before.release.as_ref().map(Message::encode_to_vec) == Some(published.encode_to_vec()),
        "GetRelease encodes the release as PublishRollup did"
    );
    let listed_before = list_releases(&app).await;

    // The records change after publication: the release must not follow them.
    let mut withdrawn = app.get_case(&a.name).await;
    withdrawn.status = CaseStatus::Withdrawn as i32;
    app.update_case(withdrawn, &["status"]).await.unwrap();
    app.create_case(valid_case("530103", "LATE")).await;

    let app = app.restart().await;

    let after = get_release(&app, &published.name).await;
    let after_bytes = after.encode_to_vec();
    // Messages first, for a readable difference; then the bytes and their hash.
    assert_eq!(after, before, "the GetRelease answer after the restart");
    assert!(
        after_bytes == before_bytes,
        "the encoded GetRelease answer differs after the restart ({} bytes, then {})",
        before_bytes.len(),
        after_bytes.len()
    );
    assert_eq!(
        sha256_hex(&after_bytes),
        before_hash,
        "the SHA-256 of the encoded GetRelease answer after the restart"
    );
    let release = after.release.expect("the release");
    assert_eq!(
        release.sha256,
        sha256_hex(release.canonical_values.as_bytes()),
        "the release's own hash still matches its canonical values"
    );
    let listed_after = list_releases(&app).await;
    assert_eq!(listed_after.len(), 1);
    assert!(
        listed_after[0].encode_to_vec() == listed_before[0].encode_to_vec(),
        "ListReleases gives the same bytes too"
    );
    // The live figures did move, so the release was not recomputed from them.
    let live = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            ..Default::default()
        })
        .await;
    let released = release.rollup.expect("the released rollup");
    assert_eq!(value(&released.figures, "measures.protest"), 1);
    assert_eq!(value(&live.figures, "measures.protest"), 0);
}
