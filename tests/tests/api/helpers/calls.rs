//! The calls tests make through a `TestApp`: typed wrappers of the gRPC methods that must
//! succeed, small request helpers, and `CreateRecord` for the requests that add a record to a
//! case.

use procura_proto::v1::{
    Case, CreateCaseRequest, CreateJudicialAidRequest, CreateMeasureRequest,
    CreateResolutionRequest, GetCaseRequest, GetRollupRequest, ListCasesRequest, ListCasesResponse,
    Rollup, UpdateCaseRequest,
};
use tonic::Status;

use super::app::TestApp;

impl TestApp {
    /// CreateCase, which must succeed.
    pub async fn create_case(&self, case: Case) -> Case {
        let number = case.case_number.clone();
        self.try_create_case(case)
            .await
            .unwrap_or_else(|s| panic!("CreateCase {number} failed: {s:?}"))
    }

    /// CreateCase.
    pub async fn try_create_case(&self, case: Case) -> Result<Case, Status> {
        self.create_case_request(CreateCaseRequest {
            case: Some(case),
            request_id: String::new(),
        })
        .await
    }

    /// CreateCase with a full request.
    pub async fn create_case_request(&self, request: CreateCaseRequest) -> Result<Case, Status> {
        let response = self.cases.clone().create_case(request).await?.into_inner();
        Ok(response.case.expect("CreateCaseResponse.case is set"))
    }

    /// GetCase, which must succeed.
    pub async fn get_case(&self, name: &str) -> Case {
        self.try_get_case(name)
            .await
            .unwrap_or_else(|s| panic!("GetCase {name} failed: {s:?}"))
    }

    /// GetCase.
    pub async fn try_get_case(&self, name: &str) -> Result<Case, Status> {
        let response = self
            .cases
            .clone()
            .get_case(GetCaseRequest {
                name: name.to_owned(),
            })
            .await?
            .into_inner();
        Ok(response.case.expect("GetCaseResponse.case is set"))
    }

    /// ListCases, one page.
    pub async fn list_cases(&self, request: ListCasesRequest) -> Result<ListCasesResponse, Status> {
        Ok(self.cases.clone().list_cases(request).await?.into_inner())
    }

    /// ListCases, every page; panics on a repeated token or more than 100 pages.
    pub async fn list_all_cases(&self, mut request: ListCasesRequest) -> Vec<Case> {
        let mut cases = Vec::new();
        let mut seen_tokens = std::collections::HashSet::new();
        for _ in 0..100 {
            let page = self
                .list_cases(request.clone())
                .await
                .unwrap_or_else(|s| panic!("ListCases failed: {s:?}"));
            cases.extend(page.cases);
            if page.next_page_token.is_empty() {
                return cases;
            }
            assert!(
                seen_tokens.insert(page.next_page_token.clone()),
                "ListCases returned the same page token twice"
            );
            request.page_token = page.next_page_token;
        }
        panic!("ListCases did not end after 100 pages");
    }

    /// Names of every case that ListCases returns for `request`.
    pub async fn list_case_numbers(&self, request: ListCasesRequest) -> Vec<String> {
        let mut numbers: Vec<String> = self
            .list_all_cases(request)
            .await
            .into_iter()
            .map(|c| c.case_number)
            .collect();
        numbers.sort();
        numbers
    }

    /// UpdateCase with a mask of `paths`.
    pub async fn update_case(&self, case: Case, paths: &[&str]) -> Result<Case, Status> {
        let response = self
            .cases
            .clone()
            .update_case(UpdateCaseRequest {
                case: Some(case),
                update_mask: Some(field_mask(paths)),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(response.case.expect("UpdateCaseResponse.case is set"))
    }

    /// GetRollup, which must succeed.
    pub async fn rollup(&self, request: GetRollupRequest) -> Rollup {
        let description = format!("{request:?}");
        self.try_rollup(request)
            .await
            .unwrap_or_else(|s| panic!("GetRollup {description} failed: {s:?}"))
    }

    /// GetRollup.
    pub async fn try_rollup(&self, request: GetRollupRequest) -> Result<Rollup, Status> {
        let response = self.reports.clone().get_rollup(request).await?.into_inner();
        Ok(response.rollup.expect("GetRollupResponse.rollup is set"))
    }
}

/// A field mask of `paths`.
pub fn field_mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// The numeric id in a resource name such as `cases/12` or `cases/12/measures/3`.
pub fn trailing_id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or_default()
}

/// A request to add a record to a case.
pub enum CreateRecord {
    /// CreateMeasure.
    Measure(CreateMeasureRequest),
    /// CreateResolution.
    Resolution(CreateResolutionRequest),
    /// CreateJudicialAid.
    Aid(CreateJudicialAidRequest),
}

impl CreateRecord {
    /// Sends the request; the record added is dropped.
    pub async fn send(self, app: &TestApp) -> Result<(), Status> {
        let mut cases = app.cases.clone();
        match self {
            CreateRecord::Measure(r) => cases.create_measure(r).await.map(drop),
            CreateRecord::Resolution(r) => cases.create_resolution(r).await.map(drop),
            CreateRecord::Aid(r) => cases.create_judicial_aid(r).await.map(drop),
        }
    }
}
