//! Region codes (行政区划代码) and levels.

use std::collections::HashMap;
use std::fmt;

use super::text::quote;

/// A six-digit administrative division code, e.g. `530100` (Kunming). Well-formed, but not
/// necessarily in the region tree: the database says whether it exists.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

/// The code of the root of the tree, the nation (全国).
pub const NATIONAL: &str = "000000";

impl RegionCode {
    /// Parses a bare code, `530100`.
    pub fn parse(code: &str) -> Result<Self, String> {
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(RegionCode(code.to_owned()))
        } else {
            Err(format!(
                "{} is not a six-digit region code such as 530100",
                quote(code)
            ))
        }
    }

    /// Parses a resource name, `regions/530100`.
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name.strip_prefix("regions/").map(Self::parse) {
            Some(Ok(code)) => Ok(code),
            _ if name.is_empty() => Err("is required, e.g. regions/530100".to_owned()),
            _ => Err(format!(
                "{} is not a region name of the form regions/530100",
                quote(name)
            )),
        }
    }

    /// The bare code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The resource name, `regions/{code}`.
    pub fn name(&self) -> String {
        format!("regions/{}", self.0)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = String;

    fn try_from(code: String) -> Result<Self, String> {
        Self::parse(&code)
    }
}

impl From<RegionCode> for String {
    fn from(code: RegionCode) -> String {
        code.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Level of a division, numbered as `procura.v1.RegionLevel` and stored so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 全国
    National = 1,
    /// 省级
    Province = 2,
    /// 地市级
    Prefecture = 3,
    /// 县级
    County = 4,
}

impl Level {
    /// The level stored as `n`, if any.
    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            1 => Some(Level::National),
            2 => Some(Level::Province),
            3 => Some(Level::Prefecture),
            4 => Some(Level::County),
            _ => None,
        }
    }

    /// The level's number.
    pub fn number(self) -> i16 {
        self as i16
    }

    /// The level one below, if any.
    pub fn below(self) -> Option<Self> {
        Self::from_number(self as i32 + 1)
    }

    /// Lower-case English name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::National => "national",
            Level::Province => "province",
            Level::Prefecture => "prefecture",
            Level::County => "county",
        }
    }
}

/// A division of the tree held in memory.
#[derive(Debug, Clone)]
pub struct RegionNode {
    /// Parent's code; none for the root.
    pub parent: Option<String>,
    /// Level number (1 national .. 4 county).
    pub level: i16,
    /// Chinese name.
    pub name: String,
}

/// The region tree in memory: the tree is fixed data, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct RegionTree {
    nodes: HashMap<String, RegionNode>,
    children: HashMap<String, Vec<String>>,
}

impl RegionTree {
    /// A tree of (code, parent, level, name) rows.
    pub fn new(rows: impl IntoIterator<Item = (String, Option<String>, i16, String)>) -> Self {
        let nodes: HashMap<String, RegionNode> = rows
            .into_iter()
            .map(|(code, parent, level, name)| {
                (
                    code,
                    RegionNode {
                        parent,
                        level,
                        name,
                    },
                )
            })
            .collect();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for (code, node) in &nodes {
            if let Some(parent) = &node.parent {
                children
                    .entry(parent.clone())
                    .or_default()
                    .push(code.clone());
            }
        }
        RegionTree { nodes, children }
    }

    /// One division.
    pub fn get(&self, code: &str) -> Option<&RegionNode> {
        self.nodes.get(code)
    }

    /// `code` and every division below it.
    pub fn subtree<'a>(&'a self, code: &'a str) -> Vec<&'a str> {
        let mut out = vec![code];
        let mut next = 0;
        while let Some(current) = out.get(next).copied() {
            if let Some(children) = self.children.get(current) {
                out.extend(children.iter().map(String::as_str));
            }
            next += 1;
        }
        out
    }

    /// Whether `code` is `ancestor` or lies below it.
    pub fn within(&self, code: &str, ancestor: &str) -> bool {
        self.ancestors(code).any(|a| a == ancestor)
    }

    /// `code` and the divisions above it, up to the root.
    pub fn ancestors<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        std::iter::successors(Some(code), |current| {
            self.nodes
                .get(*current)
                .and_then(|node| node.parent.as_deref())
        })
    }

    /// The ancestor of `code` at `level`, or `code` itself when it sits at or above it.
    pub fn bucket_of<'a>(&'a self, code: &'a str, level: i16) -> &'a str {
        let mut current = code;
        while let Some(node) = self.nodes.get(current) {
            if node.level <= level {
                return current;
            }
            match &node.parent {
                Some(parent) => current = parent,
                None => return current,
            }
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_codes() {
        assert_eq!(
            RegionCode::from_name("regions/530100").map(|c| c.name()),
            Ok("regions/530100".to_owned())
        );
        assert!(RegionCode::from_name("530100").is_err());
        assert!(RegionCode::from_name("regions/53010").is_err());
        assert!(RegionCode::from_name("regions/53010x").is_err());
        assert!(RegionCode::from_name("").is_err());
        assert!(RegionCode::parse("５３０１００").is_err());
    }

    #[test]
    fn tree_finds_buckets() {
        let tree = RegionTree::new([
            ("000000".into(), None, 1, "全国".into()),
            ("530000".into(), Some("000000".into()), 2, "云南省".into()),
            ("530100".into(), Some("530000".into()), 3, "昆明市".into()),
            ("530102".into(), Some("530100".into()), 4, "五华区".into()),
        ]);
        assert_eq!(tree.bucket_of("530102", 2), "530000");
        assert_eq!(tree.bucket_of("530102", 3), "530100");
        assert_eq!(tree.bucket_of("530000", 3), "530000");
        let mut subtree = tree.subtree("530000");
        subtree.sort_unstable();
        assert_eq!(subtree, vec!["530000", "530100", "530102"]);
        assert!(tree.within("530102", "530000"));
        assert!(tree.within("530102", "000000"));
        assert!(tree.within("530100", "530100"));
        assert!(!tree.within("530000", "530102"));
        assert!(!tree.within("110000", "530000"));
        assert_eq!(
            tree.ancestors("530102").collect::<Vec<_>>(),
            vec!["530102", "530100", "530000", "000000"]
        );
    }

    #[test]
    fn levels_step_down() {
        assert_eq!(Level::National.below(), Some(Level::Province));
        assert_eq!(Level::County.below(), None);
        assert_eq!(Level::from_number(0), None);
    }
}
