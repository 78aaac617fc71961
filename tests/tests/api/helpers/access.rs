//! Principals for access tests: a principal with given grants and a token, made through the
//! AccessService as the bootstrap admin.

use procura_proto::v1::{
    CreateGrantRequest, CreatePrincipalRequest, CreateTokenRequest, Grant, Principal,
    PrincipalKind, Role, Token,
};

use procura_proto::v1::access_service_client::AccessServiceClient;

use super::app::TestApp;
use super::clients::{Authed, Clients};

/// A token's expiry `days` ahead.
pub fn expiry_in_days(days: i64) -> prost_types::Timestamp {
    let at = chrono::Utc::now() + chrono::Duration::days(days);
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

impl TestApp {
    /// Creates person `id` holding each `(role, region code)`, and returns a token of it.
    pub async fn principal_token(&self, id: &str, grants: &[(Role, &str)]) -> String {
        self.named_principal_token(id, &format!("{id} (test)"), grants)
            .await
    }

    /// As [`TestApp::principal_token`], with a display name.
    pub async fn named_principal_token(
        &self,
        id: &str,
        display_name: &str,
        grants: &[(Role, &str)],
    ) -> String {
        person_token(&self.access, id, display_name, grants).await
    }

    /// Clients of a new person `id` holding each `(role, region code)`.
    pub async fn principal(&self, id: &str, grants: &[(Role, &str)]) -> Clients {
        let token = self.principal_token(id, grants).await;
        self.clients(&token)
    }
}

/// Creates person `id` holding each `(role, region code)` through `access` (an admin's
/// client, of any server), and returns a token of it.
pub async fn person_token(
    access: &AccessServiceClient<Authed>,
    id: &str,
    display_name: &str,
    grants: &[(Role, &str)],
) -> String {
    let mut access = access.clone();
    access
        .create_principal(CreatePrincipalRequest {
            principal: Some(Principal {
                id: id.to_owned(),
                display_name: display_name.to_owned(),
                kind: PrincipalKind::Person as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap_or_else(|s| panic!("CreatePrincipal {id}: {s:?}"));
    for (role, region) in grants {
        access
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: format!("principals/{id}"),
                    role: *role as i32,
                    region: format!("regions/{region}"),
                    ..Default::default()
                }),
            })
            .await
            .unwrap_or_else(|s| panic!("CreateGrant {id} {role:?} {region}: {s:?}"));
    }
    access
        .create_token(CreateTokenRequest {
            token: Some(Token {
                principal: format!("principals/{id}"),
                description: "test".into(),
                expire_time: Some(expiry_in_days(30)),
                ..Default::default()
            }),
        })
        .await
        .unwrap_or_else(|s| panic!("CreateToken {id}: {s:?}"))
        .into_inner()
        .secret
}
