//! RegionService: the fixed tree of 3,349 divisions, compared with `data/regions.csv`.

use std::collections::HashSet;

use procura_proto::v1::{GetRegionRequest, ListRegionsRequest, Region, RegionLevel};
use tonic::Code;

use crate::helpers::{
    TestApp, assert_invalid_field, assert_status, expect_err, region_rows, spawn_app,
};

async fn get_region(app: &TestApp, name: &str) -> Result<Region, tonic::Status> {
    let response = app
        .regions
        .clone()
        .get_region(GetRegionRequest {
            name: name.to_owned(),
        })
        .await?
        .into_inner();
    Ok(response.region.expect("GetRegionResponse.region is set"))
}

async fn list_regions(
    app: &TestApp,
    request: ListRegionsRequest,
) -> Result<procura_proto::v1::ListRegionsResponse, tonic::Status> {
    Ok(app
        .regions
        .clone()
        .list_regions(request)
        .await?
        .into_inner())
}

fn codes(regions: &[Region]) -> Vec<String> {
    regions.iter().map(|r| r.code.clone()).collect()
}

#[tokio::test]
async fn get_region_returns_kunming() {
    let app = spawn_app().await;

    let kunming = get_region(&app, "regions/530100").await.unwrap();

    assert_eq!(kunming.name, "regions/530100");
    assert_eq!(kunming.code, "530100");
    assert_eq!(kunming.display_name, "昆明市");
    assert_eq!(kunming.parent, "regions/530000");
    assert_eq!(kunming.level, RegionLevel::Prefecture as i32);
    let kunming_children = region_rows()
        .iter()
        .filter(|r| r.parent_code == "530100")
        .count();
    assert_eq!(kunming.child_count as usize, kunming_children);
}

#[tokio::test]
async fn get_region_returns_the_national_root_and_a_province() {
    let app = spawn_app().await;

    let root = get_region(&app, "regions/000000").await.unwrap();
    assert_eq!(root.level, RegionLevel::National as i32);
    assert_eq!(root.english_name, "Nationwide");
    assert_eq!(root.child_count, 31);
    assert_eq!(root.parent, "");

    let yunnan = get_region(&app, "regions/530000").await.unwrap();
    assert_eq!(yunnan.level, RegionLevel::Province as i32);
    assert_eq!(yunnan.display_name, "云南省");
    assert_eq!(yunnan.english_name, "Yunnan");
    assert_eq!(yunnan.parent, "regions/000000");
    assert_eq!(yunnan.child_count, 16);

    let wuhua = get_region(&app, "regions/530102").await.unwrap();
    assert_eq!(wuhua.level, RegionLevel::County as i32);
    assert_eq!(wuhua.display_name, "五华区");
    assert_eq!(wuhua.parent, "regions/530100");
    assert_eq!(wuhua.child_count, 0);
}

#[tokio::test]
async fn get_region_of_an_unknown_code_is_not_found() {
    let app = spawn_app().await;

    let status = expect_err(get_region(&app, "regions/999999").await, "GetRegion 999999");

    assert_status(&status, Code::NotFound, "REGION_NOT_FOUND");
}

#[tokio::test]
async fn get_region_with_a_malformed_name_is_invalid() {
    let app = spawn_app().await;

    for bad in [
        "530100",
        "regions/5301",
        "regions/53010a",
        "region/530100",
        "",
    ] {
        let status = expect_err(get_region(&app, bad).await, bad);
        assert_invalid_field(&status, "name");
    }
}

#[tokio::test]
async fn list_regions_without_parent_returns_the_31_provinces() {
    let app = spawn_app().await;

    let page = list_regions(&app, ListRegionsRequest::default())
        .await
        .unwrap();

    let expected: Vec<String> = region_rows()
        .into_iter()
        .filter(|r| r.level == "province")
        .map(|r| r.code)
        .collect();
    assert_eq!(expected.len(), 31, "test data: 31 provinces in regions.csv");
    assert_eq!(codes(&page.regions), expected, "provinces ordered by code");
    assert!(
        page.regions
            .iter()
            .all(|r| r.level == RegionLevel::Province as i32 && r.parent == "regions/000000")
    );
    assert_eq!(page.total_size, 31);
    assert_eq!(page.next_page_token, "");
}

#[tokio::test]
async fn list_regions_of_yunnan_returns_its_prefectures() {
    let app = spawn_app().await;

    let page = list_regions(
        &app,
        ListRegionsRequest {
            parent: "regions/530000".to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let expected: Vec<(String, String)> = region_rows()
        .into_iter()
        .filter(|r| r.parent_code == "530000")
        .map(|r| (r.code, r.name))
        .collect();
    assert_eq!(expected.len(), 16, "test data: Yunnan has 16 prefectures");
    let got: Vec<(String, String)> = page
        .regions
        .iter()
        .map(|r| (r.code.clone(), r.display_name.clone()))
        .collect();
    assert_eq!(got, expected);
    assert!(
        page.regions
            .iter()
            .all(|r| r.level == RegionLevel::Prefecture as i32)
    );
    assert_eq!(page.total_size, 16);
    assert_eq!(page.next_page_token, "");
}

#[tokio::test]
async fn list_regions_pages_through_every_county() {
    let app = spawn_app().await;
    let mut request = ListRegionsRequest {
        parent: "regions/000000".to_owned(),
        level: RegionLevel::County as i32,
        page_size: 1000,
        page_token: String::new(),
    };

    let mut all = Vec::new();
    let mut page_sizes = Vec::new();
    loop {
        let page = list_regions(&app, request.clone()).await.unwrap();
        assert_eq!(page.total_size, 2975, "total_size on every page");
        page_sizes.push(page.regions.len());
        all.extend(page.regions);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(page_sizes.len() < 10, "ListRegions does not end");
        request.page_token = page.next_page_token;
    }

    assert_eq!(page_sizes, vec![1000, 1000, 975]);
    let got = codes(&all);
    let distinct: HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), 2975, "no duplicates across pages");
    let expected: Vec<String> = region_rows()
        .into_iter()
        .filter(|r| r.level == "county")
        .map(|r| r.code)
        .collect();
    assert_eq!(got, expected, "every county, ordered by code");
    assert!(all.iter().all(|r| r.level == RegionLevel::County as i32));
}

#[tokio::test]
async fn list_regions_of_one_level_inside_a_province() {
    let app = spawn_app().await;
    let rows = region_rows();
    let yunnan_prefectures: HashSet<&str> = rows
        .iter()
        .filter(|r| r.parent_code == "530000")
        .map(|r| r.code.as_str())
        .collect();
    let expected: Vec<String> = rows
        .iter()
        .filter(|r| r.level == "county" && yunnan_prefectures.contains(r.parent_code.as_str()))
        .map(|r| r.code.clone())
        .collect();

    let page = list_regions(
        &app,
        ListRegionsRequest {
            parent: "regions/530000".to_owned(),
            level: RegionLevel::County as i32,
            page_size: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    assert_eq!(codes(&page.regions), expected);
    assert_eq!(page.total_size as usize, expected.len());
    assert_eq!(page.next_page_token, "");
}

#[tokio::test]
async fn list_regions_uses_default_and_maximum_page_sizes() {
    let app = spawn_app().await;
    let county = |page_size| ListRegionsRequest {
        parent: "regions/000000".to_owned(),
        level: RegionLevel::County as i32,
        page_size,
        page_token: String::new(),
    };

    let default_page = list_regions(&app, county(0)).await.unwrap();
    assert_eq!(default_page.regions.len(), 100, "page_size 0 means 100");
    assert!(!default_page.next_page_token.is_empty());

    let capped_page = list_regions(&app, county(5000)).await.unwrap();
    assert_eq!(
        capped_page.regions.len(),
        1000,
        "page_size is capped at 1000"
    );
}

#[tokio::test]
async fn list_regions_rejects_a_page_token_reused_with_another_parent() {
    let app = spawn_app().await;
    let first = list_regions(
        &app,
        ListRegionsRequest {
            parent: "regions/000000".to_owned(),
            level: RegionLevel::County as i32,
            page_size: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!first.next_page_token.is_empty());

    let status = expect_err(
        list_regions(
            &app,
            ListRegionsRequest {
                parent: "regions/530000".to_owned(),
                level: RegionLevel::County as i32,
                page_size: 10,
                page_token: first.next_page_token,
            },
        )
        .await,
        "ListRegions with another parent's token",
    );

    assert_invalid_field(&status, "page_token");
}

#[tokio::test]
async fn list_regions_rejects_bad_arguments() {
    let app = spawn_app().await;

    let negative = expect_err(
        list_regions(
            &app,
            ListRegionsRequest {
                page_size: -1,
                ..Default::default()
            },
        )
        .await,
        "page_size -1",
    );
    assert_invalid_field(&negative, "page_size");

    let garbage = expect_err(
        list_regions(
            &app,
            ListRegionsRequest {
                page_token: "not a token!".to_owned(),
                ..Default::default()
            },
        )
        .await,
        "garbage page_token",
    );
    assert_invalid_field(&garbage, "page_token");

    let bad_parent = expect_err(
        list_regions(
            &app,
            ListRegionsRequest {
                parent: "530000".to_owned(),
                ..Default::default()
            },
        )
        .await,
        "parent without regions/",
    );
    assert_invalid_field(&bad_parent, "parent");

    let both = expect_err(
        list_regions(
            &app,
            ListRegionsRequest {
                parent: "yunnan".to_owned(),
                page_size: -5,
                ..Default::default()
            },
        )
        .await,
        "two bad fields",
    );
    crate::helpers::assert_invalid_fields(&both, &["parent", "page_size"]);
}

#[tokio::test]
async fn list_regions_of_an_unknown_parent_is_not_found() {
    let app = spawn_app().await;

    let status = expect_err(
        list_regions(
            &app,
            ListRegionsRequest {
                parent: "regions/999999".to_owned(),
                ..Default::default()
            },
        )
        .await,
        "unknown parent",
    );

    assert_status(&status, Code::NotFound, "REGION_NOT_FOUND");
}
