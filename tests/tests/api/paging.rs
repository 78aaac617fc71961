//! The order and the pages of ListReleases (newest first, 20 by default, at most 100) and
//! ListCaseRevisions (oldest first, 100 by default): every item once across the pages, the
//! page size honoured, and a page token that is not one of the listing's own refused.

use procura_proto::v1::{
    CaseStatus, GetRollupRequest, ListCaseRevisionsRequest, ListCaseRevisionsResponse,
    ListReleasesRequest, ListReleasesResponse, PublishRollupRequest, Release,
};
use prost::Message;
use tonic::Status;

use crate::helpers::*;

async fn publish(app: &TestApp, title: &str) -> Release {
    app.reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: region("530102"),
                period: year(2020),
                ..Default::default()
            }),
            title: title.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("PublishRollup {title}: {s:?}"))
        .into_inner()
        .release
        .expect("PublishRollupResponse.release")
}

async fn list_releases(
    app: &TestApp,
    page_size: i32,
    page_token: &str,
) -> Result<ListReleasesResponse, Status> {
    Ok(app
        .reports
        .clone()
        .list_releases(ListReleasesRequest {
            page_size,
            page_token: page_token.to_owned(),
        })
        .await?
        .into_inner())
}

/// Every page of ListReleases with `page_size`: the names on each page, and the releases.
async fn release_pages(app: &TestApp, page_size: i32) -> (Vec<Vec<String>>, Vec<Release>) {
    let mut pages = Vec::new();
    let mut releases = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_releases(app, page_size, &token)
            .await
            .unwrap_or_else(|s| panic!("ListReleases page {}: {s:?}", pages.len() + 1));
        pages.push(page.releases.iter().map(|r| r.name.clone()).collect());
        releases.extend(page.releases);
        if page.next_page_token.is_empty() {
            return (pages, releases);
        }
        assert!(pages.len() < 200, "ListReleases does not end");
        token = page.next_page_token;
    }
}

fn release_names(ids: impl IntoIterator<Item = usize>) -> Vec<String> {
    ids.into_iter().map(|id| format!("releases/{id}")).collect()
}

#[tokio::test]
async fn list_releases_gives_every_release_once_newest_first_page_by_page() {
    let app = spawn_app().await;
    let mut published = Vec::new();
    for i in 1..=7 {
        published.push(publish(&app, &format!("release {i}")).await);
    }
    let names: Vec<&str> = published.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        release_names(1..=7),
        "releases are numbered in order"
    );

    let (pages, listed) = release_pages(&app, 3).await;

    // Newest first: 7 6 5 | 4 3 2 | 1.
    assert_eq!(
        pages,
        vec![
            release_names([7, 6, 5]),
            release_names([4, 3, 2]),
            release_names([1])
        ]
    );
    let times: Vec<_> = listed
        .iter()
        .map(|r| {
            let t = r.publish_time.expect("publish_time");
            (t.seconds, t.nanos)
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first by publish_time too: {times:?}"
    );
    // Each listed release is the release as published, byte for byte.
    for release in &listed {
        let original = published
            .iter()
            .find(|p| p.name == release.name)
            .expect("a published release");
        assert_eq!(
            release.encode_to_vec(),
            original.encode_to_vec(),
            "{} as listed",
            release.name
        );
    }

    // One page with everything when the page is big enough; a page of exactly the rest ends
    // the listing.
    let (pages, _) = release_pages(&app, 7).await;
    assert_eq!(pages, vec![release_names((1..=7).rev())]);
    let (pages, _) = release_pages(&app, 100).await;
    assert_eq!(pages, vec![release_names((1..=7).rev())]);

    // A release published while paging is newer than the token's position: the pages left
    // still give each of the others once.
    let first = list_releases(&app, 4, "").await.unwrap();
    publish(&app, "release 8").await;
    let rest = list_releases(&app, 4, &first.next_page_token)
        .await
        .unwrap();
    assert!(rest.next_page_token.is_empty());
    let names: Vec<String> = first
        .releases
        .iter()
        .chain(&rest.releases)
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(names, release_names((1..=7).rev()));
}

#[tokio::test]
async fn list_releases_pages_hold_20_by_default_and_100_at_most() {
    let app = spawn_app().await;
    for i in 1..=101 {
        publish(&app, &format!("release {i}")).await;
    }

    let (pages, _) = release_pages(&app, 0).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![20, 20, 20, 20, 20, 1], "page_size 0 means 20");
    let all: Vec<String> = pages.concat();
    assert_eq!(all, release_names((1..=101).rev()));

    let (pages, _) = release_pages(&app, 5000).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![100, 1],
        "page sizes above 100 are treated as 100"
    );
    assert_eq!(pages.concat(), release_names((1..=101).rev()));
}

#[tokio::test]
async fn list_releases_refuses_a_bad_page_token_or_size() {
    let app = spawn_app().await;
    for i in 1..=3 {
        publish(&app, &format!("release {i}")).await;
    }

    let garbage = expect_err(list_releases(&app, 1, "garbage").await, "garbage token");
    assert_invalid_field(&garbage, "page_token");

    // A token of another listing (ListCaseRevisions) is not a ListReleases token.
    let case = revised_case(&app, 2).await;
    let revisions = list_revisions(&app, &case, 1, "").await.unwrap();
    assert!(!revisions.next_page_token.is_empty());
    let foreign = expect_err(
        list_releases(&app, 1, &revisions.next_page_token).await,
        "a ListCaseRevisions token",
    );
    assert_invalid_field(&foreign, "page_token");

    let negative = expect_err(list_releases(&app, -1, "").await, "page_size -1");
    assert_invalid_field(&negative, "page_size");

    // A good token still works after the refusals.
    let first = list_releases(&app, 1, "").await.unwrap();
    let second = list_releases(&app, 1, &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(second.releases[0].name, "releases/2");
}

async fn list_revisions(
    app: &TestApp,
    parent: &str,
    page_size: i32,
    page_token: &str,
) -> Result<ListCaseRevisionsResponse, Status> {
    Ok(app
        .cases
        .clone()
        .list_case_revisions(ListCaseRevisionsRequest {
            parent: parent.to_owned(),
            page_size,
            page_token: page_token.to_owned(),
        })
        .await?
        .into_inner())
}

/// Every page of ListCaseRevisions of `parent` with `page_size`: the revision numbers on each.
async fn revision_pages(app: &TestApp, parent: &str, page_size: i32) -> Vec<Vec<i32>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_revisions(app, parent, page_size, &token)
            .await
            .unwrap_or_else(|s| panic!("ListCaseRevisions page {}: {s:?}", pages.len() + 1));
        for revision in &page.revisions {
            assert_eq!(
                revision.name,
                format!("{parent}/revisions/{}", revision.revision)
            );
        }
        pages.push(page.revisions.iter().map(|r| r.revision).collect());
        if page.next_page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 200, "ListCaseRevisions does not end");
        token = page.next_page_token;
    }
}

/// A case with `changes` revisions after its creation (summary changes, the reason naming
/// each), and another case with one.
async fn revised_case(app: &TestApp, changes: usize) -> String {
    let case = app.create_case(valid_case("530102", "REV-1")).await;
    for i in 1..=changes {
        let mut changed = app.get_case(&case.name).await;
        changed.summary = format!("summary {i}");
        let mut request = tonic::Request::new(procura_proto::v1::UpdateCaseRequest {
            case: Some(changed),
            update_mask: Some(field_mask(&["summary"])),
            reason: format!("change {i}"),
        });
        request
            .metadata_mut()
            .insert("procura-actor", "clerk".parse().unwrap());
        app.cases.clone().update_case(request).await.unwrap();
    }
    let mut other = app.create_case(valid_case("530102", "REV-2")).await;
    other.status = CaseStatus::Withdrawn as i32;
    app.update_case(other, &["status"]).await.unwrap();
    case.name
}

#[tokio::test]
async fn list_case_revisions_gives_every_revision_once_oldest_first_page_by_page() {
    let app = spawn_app().await;
    let name = revised_case(&app, 7).await;

    assert_eq!(
        revision_pages(&app, &name, 3).await,
        vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8]]
    );
    assert_eq!(
        revision_pages(&app, &name, 4).await,
        vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8]]
    );
    assert_eq!(
        revision_pages(&app, &name, 8).await,
        vec![(1..=8).collect::<Vec<_>>()]
    );

    // The revisions themselves, in order, on pages of one.
    let mut reasons = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_revisions(&app, &name, 1, &token).await.unwrap();
        assert_eq!(page.revisions.len(), 1);
        reasons.push(page.revisions[0].reason.clone());
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = std::iter::once("created".to_owned())
        .chain((1..=7).map(|i| format!("change {i}")))
        .collect();
    assert_eq!(reasons, expected);
}

#[tokio::test]
async fn list_case_revisions_pages_hold_100_by_default() {
    let app = spawn_app().await;
    let name = revised_case(&app, 101).await;

    let pages = revision_pages(&app, &name, 0).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![100, 2], "page_size 0 means 100");
    assert_eq!(pages.concat(), (1..=102).collect::<Vec<i32>>());
}

#[tokio::test]
async fn list_case_revisions_refuses_a_bad_page_token_or_size() {
    let app = spawn_app().await;
    let name = revised_case(&app, 3).await;
    let other = "cases/2";
    assert_eq!(revision_pages(&app, other, 1).await, vec![vec![1], vec![2]]);

    let garbage = expect_err(
        list_revisions(&app, &name, 1, "garbage").await,
        "garbage token",
    );
    assert_invalid_field(&garbage, "page_token");

    // A token for another case's revisions.
    let first = list_revisions(&app, other, 1, "").await.unwrap();
    let foreign = expect_err(
        list_revisions(&app, &name, 1, &first.next_page_token).await,
        "a token of another case",
    );
    assert_invalid_field(&foreign, "page_token");

    // A ListReleases token.
    publish(&app, "one").await;
    publish(&app, "two").await;
    let releases = list_releases(&app, 1, "").await.unwrap();
    let foreign = expect_err(
        list_revisions(&app, &name, 1, &releases.next_page_token).await,
        "a ListReleases token",
    );
    assert_invalid_field(&foreign, "page_token");

    let negative = expect_err(list_revisions(&app, &name, -1, "").await, "page_size -1");
    assert_invalid_field(&negative, "page_size");
}
