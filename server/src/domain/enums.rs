//! The enums a case stores, as SMALLINT numbers (the numbers of `procura.v1`'s enums). Each has
//! its stored number, its parse from that number, and its name as revisions write it (the
//! `procura.v1` name, e.g. `CASE_STATUS_CONCLUDED`). In JSON (revisions' snapshots) each is its
//! number.

/// A stored number that names no value of the enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a known {what}")]
pub struct UnknownValue {
    /// The number.
    pub value: i16,
    /// What it should have named, e.g. `case status`.
    pub what: &'static str,
}

macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $number:literal => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(into = "i16", try_from = "i16")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in number order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// What it is, in words.
            pub const WHAT: &'static str = $what;

            /// Its stored number.
            pub fn number(self) -> i16 {
                match self {
                    $($name::$variant => $number,)+
                }
            }

            /// Its name in revisions: the `procura.v1` enum value's name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl TryFrom<i16> for $name {
            type Error = UnknownValue;

            fn try_from(value: i16) -> Result<Self, UnknownValue> {
                match value {
                    $($number => Ok($name::$variant),)+
                    _ => Err(UnknownValue { value, what: $what }),
                }
            }
        }

        impl From<$name> for i16 {
            fn from(value: $name) -> i16 {
                value.number()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(
    /// 案件类型
    CaseType, "case type" {
        /// 生效裁判监督
        JudgmentSupervision = 1 => "CASE_TYPE_JUDGMENT_SUPERVISION",
        /// 审判程序监督
        TrialConductSupervision = 2 => "CASE_TYPE_TRIAL_CONDUCT_SUPERVISION",
        /// 执行监督
        EnforcementSupervision = 3 => "CASE_TYPE_ENFORCEMENT_SUPERVISION",
        /// 非诉执行监督
        NonLitigationEnforcementSupervision = 4 => "CASE_TYPE_NON_LITIGATION_ENFORCEMENT_SUPERVISION",
    }
);

stored_enum!(
    /// 案件状态
    CaseStatus, "case status" {
        /// 已受理
        Accepted = 1 => "CASE_STATUS_ACCEPTED",
        /// 已审结
        Concluded = 2 => "CASE_STATUS_CONCLUDED",
        /// 撤回: counts in no figure.
        Withdrawn = 3 => "CASE_STATUS_WITHDRAWN",
    }
);

stored_enum!(
    /// 申请人类型
    ApplicantType, "applicant type" {
        /// 自然人
        NaturalPerson = 1 => "APPLICANT_TYPE_NATURAL_PERSON",
        /// 民营企业
        PrivateEnterprise = 2 => "APPLICANT_TYPE_PRIVATE_ENTERPRISE",
        /// 其他组织
        OtherOrganization = 3 => "APPLICANT_TYPE_OTHER_ORGANIZATION",
    }
);

stored_enum!(
    /// 行政管理领域
    Sector, "sector" {
        /// 自然资源
        NaturalResources = 1 => "SECTOR_NATURAL_RESOURCES",
        /// 住房城乡建设
        HousingUrbanRural = 2 => "SECTOR_HOUSING_URBAN_RURAL",
        /// 人力资源社会保障
        HumanResourcesSocialSecurity = 3 => "SECTOR_HUMAN_RESOURCES_SOCIAL_SECURITY",
        /// 公安
        PublicSecurity = 4 => "SECTOR_PUBLIC_SECURITY",
        /// 市场监管
        MarketRegulation = 5 => "SECTOR_MARKET_REGULATION",
        /// 生态环境
        EcologyEnvironment = 6 => "SECTOR_ECOLOGY_ENVIRONMENT",
        /// 其他
        Other = 7 => "SECTOR_OTHER",
    }
);

stored_enum!(
    /// 监督措施种类
    MeasureKind, "measure kind" {
        /// 抗诉
        Protest = 1 => "MEASURE_KIND_PROTEST",
        /// 再审检察建议
        RetrialSuggestion = 2 => "MEASURE_KIND_RETRIAL_SUGGESTION",
        /// 审判违法检察建议
        TrialViolationSuggestion = 3 => "MEASURE_KIND_TRIAL_VIOLATION_SUGGESTION",
        /// 执行违法检察建议
        EnforcementViolationSuggestion = 4 => "MEASURE_KIND_ENFORCEMENT_VIOLATION_SUGGESTION",
        /// 社会治理检察建议
        SocialGovernanceSuggestion = 5 => "MEASURE_KIND_SOCIAL_GOVERNANCE_SUGGESTION",
        /// 对行政机关的检察建议
        AdministrativeOrganSuggestion = 6 => "MEASURE_KIND_ADMINISTRATIVE_ORGAN_SUGGESTION",
    }
);

stored_enum!(
    /// 监督对象类型
    AddresseeType, "addressee type" {
        /// 法院
        Court = 1 => "ADDRESSEE_TYPE_COURT",
        /// 行政机关
        AdministrativeOrgan = 2 => "ADDRESSEE_TYPE_ADMINISTRATIVE_ORGAN",
        /// 其他机关
        OtherOrgan = 3 => "ADDRESSEE_TYPE_OTHER_ORGAN",
    }
);

stored_enum!(
    /// 采纳情况
    Adoption, "adoption" {
        /// 待回复
        Pending = 1 => "ADOPTION_PENDING",
        /// 采纳
        Adopted = 2 => "ADOPTION_ADOPTED",
        /// 未采纳
        NotAdopted = 3 => "ADOPTION_NOT_ADOPTED",
    }
);

stored_enum!(
    /// 实质性化解方式
    ResolutionMethod, "resolution method" {
        /// 监督纠正
        SupervisionCorrection = 1 => "RESOLUTION_METHOD_SUPERVISION_CORRECTION",
        /// 促成和解
        Reconciliation = 2 => "RESOLUTION_METHOD_RECONCILIATION",
        /// 司法救助
        JudicialAssistance = 3 => "RESOLUTION_METHOD_JUDICIAL_ASSISTANCE",
        /// 公开听证化解
        PublicHearingSettlement = 4 => "RESOLUTION_METHOD_PUBLIC_HEARING_SETTLEMENT",
        /// 其他
        Other = 5 => "RESOLUTION_METHOD_OTHER",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::try_from(s.number()), Ok(*s));
        }
        assert!(Adoption::try_from(0).is_err());
        assert_eq!(CaseStatus::Concluded.as_str(), "CASE_STATUS_CONCLUDED");
        assert_eq!(
            serde_json::to_string(&Adoption::Adopted).expect("json"),
            "2"
        );
        assert!(serde_json::from_str::<Sector>("9").is_err());
    }
}
