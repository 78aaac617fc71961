//! Who may do what, where (访问控制): roles held at regions, the permissions calls need, and
//! the caller of a call with its grants in force.

use chrono::{DateTime, Utc};

use super::region::{RegionCode, RegionTree};

/// What a principal may do at a region and below, numbered as `procura.v1.Role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Creates and corrects case records, imports.
    Submitter = 1,
    /// Reads cases, rollups, releases and explanations.
    Viewer = 2,
    /// Publishes releases.
    Publisher = 3,
    /// Reads revisions and the access log.
    Auditor = 4,
    /// Manages principals, tokens and grants.
    Admin = 5,
}

impl Role {
    /// Every role, in number order.
    pub const ALL: [Role; 5] = [
        Role::Submitter,
        Role::Viewer,
        Role::Publisher,
        Role::Auditor,
        Role::Admin,
    ];

    /// The stored and wire number.
    pub fn number(self) -> i16 {
        self as i16
    }

    /// The role numbered `n`.
    pub fn from_number(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.number() as i32 == n)
    }

    /// Lower-case name, as the CLI and errors say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Viewer => "viewer",
            Role::Publisher => "publisher",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// What a call needs. Each RPC declares one (`api::guard::PERMISSIONS`); the region it needs
/// it at is checked where the region is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the region tree: any grant.
    RegionsRead,
    /// Read cases: viewer.
    CasesRead,
    /// Create and correct case records: submitter.
    CasesWrite,
    /// Read case revisions: auditor.
    RevisionsRead,
    /// Read rollups, releases and explanations: viewer.
    ReportsRead,
    /// Publish releases: publisher.
    ReleasesPublish,
    /// Ask who one is: any authenticated caller.
    SelfRead,
    /// Manage principals, tokens and grants: admin.
    AccessAdmin,
    /// Read the access log: auditor.
    AuditRead,
}

impl Permission {
    /// The role that gives this permission; `None` when any authenticated caller has it.
    pub fn role(self) -> Option<Role> {
        match self {
            Permission::RegionsRead | Permission::SelfRead => None,
            Permission::CasesRead | Permission::ReportsRead => Some(Role::Viewer),
            Permission::CasesWrite => Some(Role::Submitter),
            Permission::RevisionsRead | Permission::AuditRead => Some(Role::Auditor),
            Permission::ReleasesPublish => Some(Role::Publisher),
            Permission::AccessAdmin => Some(Role::Admin),
        }
    }

    /// Stable name, as errors and the access log give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::RegionsRead => "regions.read",
            Permission::CasesRead => "cases.read",
            Permission::CasesWrite => "cases.write",
            Permission::RevisionsRead => "revisions.read",
            Permission::ReportsRead => "reports.read",
            Permission::ReleasesPublish => "releases.publish",
            Permission::SelfRead => "self.read",
            Permission::AccessAdmin => "access.admin",
            Permission::AuditRead => "audit.read",
        }
    }

    /// Whether a call with this permission changes something (its access is always logged).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Permission::CasesWrite | Permission::ReleasesPublish | Permission::AccessAdmin
        )
    }
}

/// A role held at a region (and its subtree), perhaps until a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its number.
    pub id: i64,
    /// The principal holding it.
    pub principal: String,
    /// The role.
    pub role: Role,
    /// The region at whose subtree it applies.
    pub region: RegionCode,
    /// When it lapses.
    pub expire_time: Option<DateTime<Utc>>,
}

impl Grant {
    /// Whether the grant is in force at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.expire_time.is_none_or(|t| t > now)
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token.
    Token,
    /// A client certificate under mutual TLS.
    Certificate,
}

/// The authenticated caller of one call: its principal and the grants it holds.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal's id, e.g. `zhang-san`.
    pub principal: String,
    /// The principal's display name.
    pub display_name: String,
    /// Its grants (those in force when the call began).
    pub grants: Vec<Grant>,
    /// How it was authenticated.
    pub credential: Credential,
}

/// Whether `region` lies in the subtree of `scope` (itself included). A code not in the tree
/// lies only within the root's scope: who may act everywhere learns that it does not exist,
/// others are refused.
pub fn within(tree: &RegionTree, region: &str, scope: &str) -> bool {
    if tree.get(region).is_none() {
        return scope == super::region::NATIONAL;
    }
    let mut current = region;
    loop {
        if current == scope {
            return true;
        }
        match tree.get(current).and_then(|n| n.parent.as_deref()) {
            Some(parent) => current = parent,
            None => return false,
        }
    }
}

impl Caller {
    /// The regions where the caller holds `role`: the tops of its scope for that role.
    pub fn scopes(&self, role: Role) -> Vec<&RegionCode> {
        self.grants
            .iter()
            .filter(|g| g.role == role)
            .map(|g| &g.region)
            .collect()
    }

    /// Whether the caller holds `role` at `region` (through a grant at it or above it).
    pub fn holds(&self, tree: &RegionTree, role: Role, region: &str) -> bool {
        self.scopes(role)
            .iter()
            .any(|scope| within(tree, region, scope.as_str()))
    }

    /// Whether the caller holds `role` anywhere.
    pub fn holds_anywhere(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Whether the caller may use `permission` at `region`.
    pub fn may(&self, tree: &RegionTree, permission: Permission, region: &str) -> bool {
        match permission.role() {
            None => true,
            Some(role) => self.holds(tree, role, region),
        }
    }

    /// Whether the caller may use `permission` somewhere (the check made before the region
    /// is known).
    pub fn may_somewhere(&self, permission: Permission) -> bool {
        match permission.role() {
            None => true,
            Some(role) => self.holds_anywhere(role),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> RegionTree {
        let row = |code: &str, parent: Option<&str>, level| {
            (
                code.to_owned(),
                parent.map(str::to_owned),
                level,
                code.to_owned(),
            )
        };
        RegionTree::new([
            row("000000", None, 1),
            row("530000", Some("000000"), 2),
            row("530100", Some("530000"), 3),
            row("530102", Some("530100"), 4),
            row("110000", Some("000000"), 2),
        ])
    }

    fn caller(grants: &[(Role, &str)]) -> Caller {
        Caller {
            principal: "p".into(),
            display_name: "P".into(),
            grants: grants
                .iter()
                .enumerate()
                .map(|(i, (role, region))| Grant {
                    id: i as i64,
                    principal: "p".into(),
                    role: *role,
                    region: RegionCode::parse(region).expect("a region code"),
                    expire_time: None,
                })
                .collect(),
            credential: Credential::Token,
        }
    }

    #[test]
    fn a_grant_covers_its_region_and_below_only() {
        let t = tree();
        let c = caller(&[(Role::Viewer, "530000"), (Role::Submitter, "530102")]);
        assert!(c.may(&t, Permission::ReportsRead, "530000"));
        assert!(c.may(&t, Permission::ReportsRead, "530102"));
        assert!(!c.may(&t, Permission::ReportsRead, "000000"));
        assert!(!c.may(&t, Permission::ReportsRead, "110000"));
        assert!(c.may(&t, Permission::CasesWrite, "530102"));
        assert!(!c.may(&t, Permission::CasesWrite, "530100"));
        assert!(!c.may_somewhere(Permission::ReleasesPublish));
        assert!(c.may(&t, Permission::RegionsRead, "110000"));
        assert!(!c.may(&t, Permission::CasesRead, "999999"));
    }

    #[test]
    fn roles_round_trip_their_numbers() {
        for role in Role::ALL {
            assert_eq!(Role::from_number(role.number() as i32), Some(role));
        }
        assert_eq!(Role::from_number(0), None);
        assert_eq!(Role::from_number(6), None);
    }

    #[test]
    fn expired_grants_are_not_in_force() {
        let now = Utc::now();
        let mut g = caller(&[(Role::Viewer, "530000")]).grants.remove(0);
        assert!(g.in_force(now));
        g.expire_time = Some(now);
        assert!(!g.in_force(now));
    }
}
