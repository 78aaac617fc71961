//! The demo data set (演示数据): a nationwide, deterministic set of individual case records,
//! accepted 2019-01-01..2020-12-31, whose rollups give exactly the figures the Supreme People's
//! Procuratorate published on 2021-02-23 (`data/published-figures-2020.csv`, column
//! `demo_value`, and `demo_previous_year_value` for 2019).
//!
//! Exact by construction: the generator first fixes how many measures of each kind are issued
//! in each counting window ([`MEASURE_QUOTAS`]), how many disputes are resolved and aid grants
//! made before and during the special activity, which of them involve private enterprises, the
//! aid amounts (whole yuan and a few fen, adding up to the published total) and the listed and
//! typical cases; only then does it draw dates inside those windows and spread the events over
//! cases, procuratorates (31 provinces by population, their prefectures and counties) and case
//! types with a seeded generator of its own ([`rng`]). Case dates are derived from the events
//! (accepted before the first, concluded after the last), so no event leaves its window.
//!
//! Cases are numbered `演示〔YEAR〕NNNN号` per procuratorate and year of acceptance, so the
//! same seed always gives the same (region, case number) keys and a second load finds every
//! case already present.

pub mod calendar;
pub mod regions;
pub mod rng;
pub mod tally;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, Case, CaseStatus, CaseType, JudicialAid, Measure,
    MeasureKind, Resolution, ResolutionMethod, Sector,
};

use calendar::{Day, date, day, is_weekend, month_index};
use regions::Procuratorates;
use rng::{Rng, Weighted, choose};

/// The seed of `procura demo load` when none is given.
pub const DEFAULT_SEED: u64 = 2021;

/// First day of the data set: every case is accepted on or after it.
pub const FIRST_DAY: Day = day(2019, 1, 1);
/// Last day of the data set: no event of any case falls after it.
pub const LAST_DAY: Day = day(2020, 12, 31);
/// First day of the special activity (专项活动), which ran to [`LAST_DAY`].
pub const ACTIVITY_START: Day = day(2019, 11, 1);
/// Last day before the special activity.
const BEFORE_ACTIVITY: Day = ACTIVITY_START - 1;
/// Calendar 2019.
pub const YEAR_2019: (Day, Day) = (FIRST_DAY, day(2019, 12, 31));
/// Calendar 2020.
pub const YEAR_2020: (Day, Day) = (day(2020, 1, 1), LAST_DAY);
/// The special activity, 2019-11-01..2020-12-31.
pub const ACTIVITY: (Day, Day) = (ACTIVITY_START, LAST_DAY);

/// How many measures of a kind are issued in a window of days (both ends included).
#[derive(Debug, Clone, Copy)]
pub struct MeasureQuota {
    /// The kind.
    pub kind: MeasureKind,
    /// First day of the window.
    pub from: Day,
    /// Last day of the window.
    pub to: Day,
    /// Exactly how many are issued in it.
    pub count: usize,
}

const fn quota(kind: MeasureKind, window: (Day, Day), count: usize) -> MeasureQuota {
    MeasureQuota {
        kind,
        from: window.0,
        to: window.1,
        count,
    }
}

/// Every measure of the data set, by kind and window. The windows of a kind do not overlap,
/// so each published figure is one quota or the sum of two:
/// - protests + retrial suggestions: 2019 97 + 142 = 239, 2020 152 + 228 = 380 (+59%);
/// - trial violation suggestions: 2019 2,791, 2020 6,000 (+115%);
/// - enforcement violation suggestions: 2019 12,953, 2020 25,000 (+93%);
/// - social governance suggestions: 2020 1,500 (2019: 912, not published);
/// - suggestions to administrative organs: 1,300 in the special activity, and 640 in
///   2019-01..2019-10 before it.
pub const MEASURE_QUOTAS: [MeasureQuota; 10] = [
    quota(MeasureKind::Protest, YEAR_2019, 97),
    quota(MeasureKind::Protest, YEAR_2020, 152),
    quota(MeasureKind::RetrialSuggestion, YEAR_2019, 142),
    quota(MeasureKind::RetrialSuggestion, YEAR_2020, 228),
    quota(MeasureKind::TrialViolationSuggestion, YEAR_2019, 2_791),
    quota(MeasureKind::TrialViolationSuggestion, YEAR_2020, 6_000),
    quota(
        MeasureKind::EnforcementViolationSuggestion,
        YEAR_2019,
        12_953,
    ),
    quota(
        MeasureKind::EnforcementViolationSuggestion,
        YEAR_2020,
        25_000,
    ),
    quota(MeasureKind::SocialGovernanceSuggestion, YEAR_2019, 912),
    quota(MeasureKind::SocialGovernanceSuggestion, YEAR_2020, 1_500),
];

/// Suggestions to administrative organs before the special activity (2019-01..2019-10).
pub const ADMINISTRATIVE_ORGAN_BEFORE: usize = 640;
/// Suggestions to administrative organs in the special activity.
pub const ADMINISTRATIVE_ORGAN_ACTIVITY: usize = 1_300;
/// Disputes resolved before the special activity (2019-01..2019-10).
pub const RESOLUTIONS_BEFORE: usize = 2_650;
/// Of those, disputes whose case involves a private enterprise (fewer than in the activity,
/// which made them a priority).
pub const RESOLUTIONS_BEFORE_PRIVATE_ENTERPRISE: usize = 110;
/// Disputes resolved in the special activity.
pub const RESOLUTIONS_ACTIVITY: usize = 6_300;
/// Of those, disputes whose case involves a private enterprise.
pub const RESOLUTIONS_ACTIVITY_PRIVATE_ENTERPRISE: usize = 390;
/// Aid grants before the special activity.
pub const AID_GRANTS_BEFORE: usize = 84;
/// Aid grants in the special activity.
pub const AID_GRANTS_ACTIVITY: usize = 190;
/// Aid granted in the special activity, in fen: 4,200,000 yuan.
pub const AID_FEN_ACTIVITY: i64 = 420_000_000;
/// Cases listed by the SPP in its first batch, of which involving private enterprises, and
/// the last acceptance day of a case in the batch.
pub const LISTED_BATCH_1: (usize, usize, Day) = (20, 5, day(2020, 2, 29));
/// The same for the second batch. 20 + 25 = 45 listed cases, 5 + 6 = 11 of them private.
pub const LISTED_BATCH_2: (usize, usize, Day) = (25, 6, day(2020, 7, 31));
/// Typical cases published from the special activity.
pub const TYPICAL_CASES: usize = 12;
/// Cases that end without a measure (applications not supported, 不支持监督申请).
pub const CASES_WITHOUT_MEASURES: usize = 9_000;

/// Relative activity of each month from 2019-01 to 2020-12, in per mille: the Spring Festival
/// in January/February, the epidemic in February and March 2020, the National Day holidays in
/// October, the year-end push in November and December.
const MONTH_WEIGHTS: [u64; 24] = [
    85, 55, 95, 95, 95, 100, 100, 95, 100, 80, 105, 115, //
    75, 30, 70, 95, 100, 105, 105, 100, 105, 85, 110, 120,
];

/// A case being built: plain values, turned into a `procura.v1.Case` at the end.
#[derive(Debug, Clone)]
struct Draft {
    procuratorate: usize,
    case_type: CaseType,
    applicant_type: ApplicantType,
    sector: Sector,
    accepted: Day,
    leader_handled: bool,
    public_hearing: bool,
    private_enterprise: bool,
    spp_listed_batch: i32,
    typical: bool,
    measures: Vec<(MeasureKind, Day)>,
    resolution: Option<(ResolutionMethod, Day)>,
    aid: Vec<(Day, i64)>,
}

impl Draft {
    /// The last day anything happened to the case.
    fn last_event(&self) -> Day {
        let measures = self.measures.iter().map(|(_, d)| *d);
        let resolution = self.resolution.iter().map(|(_, d)| *d);
        let aid = self.aid.iter().map(|(d, _)| *d);
        measures
            .chain(resolution)
            .chain(aid)
            .fold(self.accepted, Day::max)
    }
}

/// Draws days inside a window, weighted by month and much less often on weekends.
struct Span {
    from: Day,
    weights: Weighted,
}

impl Span {
    fn new(from: Day, to: Day) -> Self {
        let weights = Weighted::new((from..=to).map(|d| {
            let month = MONTH_WEIGHTS[month_index(d).min(23)];
            if is_weekend(d) { month } else { month * 12 }
        }));
        Self { from, weights }
    }

    fn draw(&self, rng: &mut Rng) -> Day {
        self.from + self.weights.pick(rng) as Day
    }

    /// `count` days, in order.
    fn draw_sorted(&self, rng: &mut Rng, count: usize) -> Vec<Day> {
        let mut days: Vec<Day> = (0..count).map(|_| self.draw(rng)).collect();
        days.sort_unstable();
        days
    }
}

/// How the cases of a court measure look: their case types (weighted), procuratorate levels,
/// days from acceptance to the first measure, and measures per case (weighted).
type CourtMeasureShape = (
    &'static [(CaseType, u32)],
    [u32; 3],
    (i64, i64),
    &'static [(usize, u32)],
);

/// The share of cases at provincial, prefecture and county procuratorates, by what they are.
const MIX_PROTEST: [u32; 3] = [15, 85, 0];
const MIX_RETRIAL: [u32; 3] = [3, 22, 75];
const MIX_COURT_SUGGESTION: [u32; 3] = [2, 18, 80];
const MIX_ENFORCEMENT: [u32; 3] = [1, 14, 85];
const MIX_GENERAL: [u32; 3] = [3, 25, 72];
const MIX_AID: [u32; 3] = [5, 35, 60];

struct Generator {
    seed: u64,
    procuratorates: Procuratorates,
    drafts: Vec<Draft>,
}

/// Generates the demo data set for `seed`: the same seed always gives the same cases, in the
/// same order (by acceptance date, region, case number).
pub fn generate(seed: u64) -> Vec<Case> {
    let mut generator = Generator {
        seed,
        procuratorates: Procuratorates::load(),
        drafts: Vec::with_capacity(60_000),
    };
    generator.court_measures();
    generator.other_measures();
    generator.cases_without_measures();
    generator.resolutions();
    generator.aid();
    generator.listed_cases();
    generator.typical_cases();
    generator.into_cases()
}

impl Generator {
    /// The generator of phase `phase`: each phase draws from its own stream, so that changing
    /// one leaves the others as they were.
    fn rng(&self, phase: u64) -> Rng {
        Rng::new(self.seed, phase)
    }

    /// A new case of `case_type` at a procuratorate drawn with `mix`, accepted on `accepted`;
    /// `private_enterprise` forces the marker (and a fitting applicant) when given.
    fn new_case(
        &mut self,
        rng: &mut Rng,
        case_type: CaseType,
        mix: [u32; 3],
        accepted: Day,
        private_enterprise: Option<bool>,
    ) -> usize {
        let procuratorate = self.procuratorates.pick(rng, mix);
        let applicant_type = match private_enterprise {
            Some(true) => ApplicantType::PrivateEnterprise,
            Some(false) => choose(
                rng,
                &[
                    (ApplicantType::NaturalPerson, 92),
                    (ApplicantType::OtherOrganization, 8),
                ],
            ),
            None => choose(
                rng,
                &[
                    (ApplicantType::NaturalPerson, 84),
                    (ApplicantType::PrivateEnterprise, 9),
                    (ApplicantType::OtherOrganization, 7),
                ],
            ),
        };
        // Individual businesses (个体工商户) apply as natural persons but count as private.
        let private_enterprise = private_enterprise.unwrap_or_else(|| {
            applicant_type == ApplicantType::PrivateEnterprise
                || (applicant_type == ApplicantType::NaturalPerson && rng.chance(0.01))
        });
        let sector = sector_for(rng, case_type);
        let hearing_rate = if case_type == CaseType::JudgmentSupervision {
            0.06
        } else {
            0.02
        };
        self.drafts.push(Draft {
            procuratorate,
            case_type,
            applicant_type,
            sector,
            accepted,
            leader_handled: rng.chance(0.05),
            public_hearing: rng.chance(hearing_rate),
            private_enterprise,
            spp_listed_batch: 0,
            typical: false,
            measures: Vec::new(),
            resolution: None,
            aid: Vec::new(),
        });
        self.drafts.len() - 1
    }

    /// Protests, retrial suggestions and the two court suggestions: each quota's days drawn in
    /// its window, then taken in order in groups of one to four measures per case (a case often
    /// finds several enforcement violations), each case accepted some weeks before its first.
    fn court_measures(&mut self) {
        let mut rng = self.rng(1);
        for quota in MEASURE_QUOTAS {
            let (case_types, mix, lag, sizes): CourtMeasureShape = match quota.kind {
                MeasureKind::Protest => (
                    &[(CaseType::JudgmentSupervision, 1)],
                    MIX_PROTEST,
                    (60, 200),
                    &[(1, 1)],
                ),
                MeasureKind::RetrialSuggestion => (
                    &[(CaseType::JudgmentSupervision, 1)],
                    MIX_RETRIAL,
                    (45, 180),
                    &[(1, 1)],
                ),
                MeasureKind::TrialViolationSuggestion => (
                    &[(CaseType::TrialConductSupervision, 1)],
                    MIX_COURT_SUGGESTION,
                    (10, 90),
                    &[(1, 70), (2, 20), (3, 10)],
                ),
                MeasureKind::EnforcementViolationSuggestion => (
                    &[
                        (CaseType::EnforcementSupervision, 70),
                        (CaseType::NonLitigationEnforcementSupervision, 30),
                    ],
                    MIX_ENFORCEMENT,
                    (10, 120),
                    &[(1, 65), (2, 22), (3, 9), (4, 4)],
                ),
                _ => continue,
            };
            let days = Span::new(quota.from, quota.to).draw_sorted(&mut rng, quota.count);
            let mut next = 0;
            while next < days.len() {
                let size = choose(&mut rng, sizes).min(days.len() - next);
                let group = &days[next..next + size];
                let accepted = accepted_before(&mut rng, group[0], lag);
                let case_type = choose(&mut rng, case_types);
                let case = self.new_case(&mut rng, case_type, mix, accepted, None);
                self.drafts[case]
                    .measures
                    .extend(group.iter().map(|d| (quota.kind, *d)));
                next += size;
            }
        }
    }

    /// Social governance suggestions and suggestions to administrative organs: many arise from
    /// a case that already produced a court measure (found while handling it), the others from
    /// a case of their own.
    fn other_measures(&mut self) {
        let mut rng = self.rng(2);
        let mut windows: Vec<(MeasureKind, Day, Day, usize)> = MEASURE_QUOTAS
            .iter()
            .filter(|q| q.kind == MeasureKind::SocialGovernanceSuggestion)
            .map(|q| (q.kind, q.from, q.to, q.count))
            .collect();
        windows.push((
            MeasureKind::AdministrativeOrganSuggestion,
            FIRST_DAY,
            BEFORE_ACTIVITY,
            ADMINISTRATIVE_ORGAN_BEFORE,
        ));
        windows.push((
            MeasureKind::AdministrativeOrganSuggestion,
            ACTIVITY_START,
            LAST_DAY,
            ADMINISTRATIVE_ORGAN_ACTIVITY,
        ));
        for (kind, from, to, count) in windows {
            let fits = |case_type: CaseType| {
                kind == MeasureKind::SocialGovernanceSuggestion
                    || matches!(
                        case_type,
                        CaseType::JudgmentSupervision
                            | CaseType::NonLitigationEnforcementSupervision
                    )
            };
            for issued in Span::new(from, to).draw_sorted(&mut rng, count) {
                let existing = if rng.chance(0.45) {
                    self.probe(&mut rng, 16, |c| {
                        fits(c.case_type)
                            && c.accepted <= issued
                            && issued - c.accepted <= 365
                            && c.measures.len() < 4
                    })
                } else {
                    None
                };
                let case = match existing {
                    Some(case) => case,
                    None => {
                        let case_type = if kind == MeasureKind::SocialGovernanceSuggestion {
                            choose(
                                &mut rng,
                                &[
                                    (CaseType::JudgmentSupervision, 50),
                                    (CaseType::EnforcementSupervision, 20),
                                    (CaseType::NonLitigationEnforcementSupervision, 30),
                                ],
                            )
                        } else {
                            choose(
                                &mut rng,
                                &[
                                    (CaseType::JudgmentSupervision, 40),
                                    (CaseType::NonLitigationEnforcementSupervision, 60),
                                ],
                            )
                        };
                        let accepted = accepted_before(&mut rng, issued, (20, 150));
                        self.new_case(&mut rng, case_type, MIX_GENERAL, accepted, None)
                    }
                };
                self.drafts[case].measures.push((kind, issued));
            }
        }
    }

    /// Applications examined and not supported: judgment supervision mostly, no measure.
    fn cases_without_measures(&mut self) {
        let mut rng = self.rng(3);
        let span = Span::new(FIRST_DAY, LAST_DAY);
        for _ in 0..CASES_WITHOUT_MEASURES {
            let accepted = span.draw(&mut rng);
            let case_type = choose(
                &mut rng,
                &[
                    (CaseType::JudgmentSupervision, 70),
                    (CaseType::TrialConductSupervision, 8),
                    (CaseType::EnforcementSupervision, 12),
                    (CaseType::NonLitigationEnforcementSupervision, 10),
                ],
            );
            self.new_case(&mut rng, case_type, MIX_GENERAL, accepted, None);
        }
    }

    /// Disputes resolved, before and in the activity: in each window exactly the given number
    /// go to cases involving private enterprises and the rest to cases that do not (the marker
    /// is fixed when a case is made, so a resolution counts where it was meant to).
    fn resolutions(&mut self) {
        let mut rng = self.rng(4);
        let mut slots = Vec::with_capacity(RESOLUTIONS_BEFORE + RESOLUTIONS_ACTIVITY);
        for (from, to, count, private) in [
            (
                FIRST_DAY,
                BEFORE_ACTIVITY,
                RESOLUTIONS_BEFORE,
                RESOLUTIONS_BEFORE_PRIVATE_ENTERPRISE,
            ),
            (
                ACTIVITY_START,
                LAST_DAY,
                RESOLUTIONS_ACTIVITY,
                RESOLUTIONS_ACTIVITY_PRIVATE_ENTERPRISE,
            ),
        ] {
            let mut flags: Vec<bool> = (0..count).map(|i| i < private).collect();
            rng.shuffle(&mut flags);
            let days = Span::new(from, to).draw_sorted(&mut rng, count);
            slots.extend(days.into_iter().zip(flags));
        }
        for (resolved, private_enterprise) in slots {
            let method = choose(
                &mut rng,
                &[
                    (ResolutionMethod::SupervisionCorrection, 30),
                    (ResolutionMethod::Reconciliation, 36),
                    (ResolutionMethod::JudicialAssistance, 7),
                    (ResolutionMethod::PublicHearingSettlement, 12),
                    (ResolutionMethod::Other, 15),
                ],
            );
            let existing = if rng.chance(0.6) {
                self.probe(&mut rng, 24, |c| {
                    c.resolution.is_none()
                        && c.accepted <= resolved
                        && resolved - c.accepted <= 365
                        && c.private_enterprise == private_enterprise
                })
            } else {
                None
            };
            let case = match existing {
                Some(case) => case,
                None => {
                    let case_type = choose(
                        &mut rng,
                        &[
                            (CaseType::JudgmentSupervision, 75),
                            (CaseType::TrialConductSupervision, 5),
                            (CaseType::EnforcementSupervision, 8),
                            (CaseType::NonLitigationEnforcementSupervision, 12),
                        ],
                    );
                    let accepted = accepted_before(&mut rng, resolved, (20, 180));
                    self.new_case(
                        &mut rng,
                        case_type,
                        MIX_GENERAL,
                        accepted,
                        Some(private_enterprise),
                    )
                }
            };
            let draft = &mut self.drafts[case];
            draft.resolution = Some((method, resolved));
            if method == ResolutionMethod::PublicHearingSettlement {
                draft.public_hearing = true;
            }
        }
    }

    /// Aid grants: amounts first (in the activity adding up to exactly 4,200,000 yuan), then
    /// each grant goes to a case whose dispute was resolved by judicial assistance, or another
    /// recent case, or a case of its own.
    fn aid(&mut self) {
        let mut rng = self.rng(5);
        let mut grants: Vec<(Day, i64)> = Span::new(FIRST_DAY, BEFORE_ACTIVITY)
            .draw_sorted(&mut rng, AID_GRANTS_BEFORE)
            .into_iter()
            .map(|d| (d, round_amount(&mut rng)))
            .collect();
        let amounts = amounts_adding_up_to(&mut rng, AID_GRANTS_ACTIVITY, AID_FEN_ACTIVITY);
        grants.extend(
            Span::new(ACTIVITY_START, LAST_DAY)
                .draw_sorted(&mut rng, AID_GRANTS_ACTIVITY)
                .into_iter()
                .zip(amounts),
        );
        let assisted: Vec<usize> = (0..self.drafts.len())
            .filter(|&i| {
                matches!(
                    self.drafts[i].resolution,
                    Some((ResolutionMethod::JudicialAssistance, _))
                )
            })
            .collect();
        for (granted, amount) in grants {
            let recent = |c: &Draft| c.accepted <= granted && granted - c.accepted <= 365;
            let mut case = None;
            for _ in 0..24 {
                if assisted.is_empty() {
                    break;
                }
                let i = assisted[rng.index(assisted.len())];
                if recent(&self.drafts[i]) && self.drafts[i].aid.len() < 2 {
                    case = Some(i);
                    break;
                }
            }
            if case.is_none() && rng.chance(0.5) {
                case = self.probe(&mut rng, 24, |c| recent(c) && c.aid.len() < 2);
            }
            let case = match case {
                Some(case) => case,
                None => {
                    let accepted = accepted_before(&mut rng, granted, (15, 120));
                    self.new_case(
                        &mut rng,
                        CaseType::JudgmentSupervision,
                        MIX_AID,
                        accepted,
                        Some(false),
                    )
                }
            };
            self.drafts[case].aid.push((granted, amount));
        }
    }

    /// The cases the SPP listed for supervision, in two batches, with the exact number
    /// involving private enterprises; all are handled by a chief prosecutor.
    fn listed_cases(&mut self) {
        let mut rng = self.rng(6);
        for (batch, (count, private, last_accepted)) in
            [LISTED_BATCH_1, LISTED_BATCH_2].into_iter().enumerate()
        {
            for (private_enterprise, wanted) in [(true, private), (false, count - private)] {
                let candidates: Vec<usize> = (0..self.drafts.len())
                    .filter(|&i| {
                        let c = &self.drafts[i];
                        c.spp_listed_batch == 0
                            && !c.measures.is_empty()
                            && c.private_enterprise == private_enterprise
                            && (ACTIVITY_START..=last_accepted).contains(&c.accepted)
                    })
                    .collect();
                for case in pick_distinct(&mut rng, candidates, wanted) {
                    let draft = &mut self.drafts[case];
                    draft.spp_listed_batch = batch as i32 + 1;
                    draft.leader_handled = true;
                }
            }
        }
    }

    /// Typical cases: resolved disputes of the activity, published once concluded.
    fn typical_cases(&mut self) {
        let mut rng = self.rng(7);
        let candidates: Vec<usize> = (0..self.drafts.len())
            .filter(|&i| {
                let c = &self.drafts[i];
                c.accepted >= ACTIVITY_START
                    && c.last_event() <= day(2020, 9, 30)
                    && c.resolution.is_some()
                    && !c.measures.is_empty()
            })
            .collect();
        for case in pick_distinct(&mut rng, candidates, TYPICAL_CASES) {
            self.drafts[case].typical = true;
        }
    }

    /// A case among `tries` random ones that `fits`, if any.
    fn probe(&self, rng: &mut Rng, tries: usize, fits: impl Fn(&Draft) -> bool) -> Option<usize> {
        if self.drafts.is_empty() {
            return None;
        }
        (0..tries)
            .map(|_| rng.index(self.drafts.len()))
            .find(|&i| fits(&self.drafts[i]))
    }

    /// The drafts as cases: conclusion and adoption decided from the events, numbered per
    /// procuratorate and year, ordered by acceptance date, region and number.
    fn into_cases(self) -> Vec<Case> {
        let mut rng = self.rng(8);
        let mut numbered: Vec<(usize, &Draft)> = self.drafts.iter().enumerate().collect();
        numbered.sort_by_key(|(i, d)| (d.procuratorate, d.accepted, *i));
        let mut numbers = vec![String::new(); self.drafts.len()];
        let mut counters: HashMap<(usize, i32), u32> = HashMap::new();
        for (i, draft) in numbered {
            let year = date(draft.accepted).year;
            let counter = counters.entry((draft.procuratorate, year)).or_default();
            *counter += 1;
            numbers[i] = format!("演示〔{year}〕{counter:04}号");
        }

        let mut cases: Vec<(Day, Case)> = self
            .drafts
            .iter()
            .zip(numbers)
            .map(|(draft, number)| {
                (
                    draft.accepted,
                    self.case_of(&mut rng, draft, number, self.seed),
                )
            })
            .collect();
        cases.sort_by(|(a, x), (b, y)| {
            (a, &x.region, &x.case_number).cmp(&(b, &y.region, &y.case_number))
        });
        cases.into_iter().map(|(_, case)| case).collect()
    }

    fn case_of(&self, rng: &mut Rng, draft: &Draft, case_number: String, seed: u64) -> Case {
        let procuratorate = self.procuratorates.get(draft.procuratorate);
        let last_event = draft.last_event();
        let handling = if draft.measures.is_empty() {
            (draft.accepted + rng.between(30, 150) as Day).max(last_event)
        } else {
            last_event
        };
        let mut concluded = handling + rng.between(0, 25) as Day;
        let mut closed = concluded <= LAST_DAY && rng.chance(0.95);
        if draft.typical {
            concluded = concluded.min(LAST_DAY);
            closed = true;
        }

        let mut measures: Vec<(MeasureKind, Day)> = draft.measures.clone();
        measures.sort_by_key(|(kind, d)| (*d, *kind as i32));
        let measures = measures
            .into_iter()
            .map(|(kind, issued)| {
                let (addressee_type, addressee) = addressee(rng, procuratorate, kind, draft.sector);
                let answer = if kind == MeasureKind::Protest {
                    rng.between(60, 180)
                } else {
                    rng.between(20, 90)
                };
                let answered = issued + answer as Day;
                let roll = rng.unit();
                let adoption = if answered > LAST_DAY || roll >= 0.95 {
                    Adoption::Pending
                } else if roll < 0.9 {
                    Adoption::Adopted
                } else {
                    Adoption::NotAdopted
                };
                Measure {
                    kind: kind as i32,
                    issued_on: Some(date(issued)),
                    addressee_type: addressee_type as i32,
                    addressee,
                    adoption: adoption as i32,
                    answered_on: (adoption != Adoption::Pending).then(|| date(answered)),
                    ..Measure::default()
                }
            })
            .collect();

        let resolution = draft.resolution.map(|(method, resolved)| Resolution {
            method: method as i32,
            resolved_on: Some(date(resolved)),
            note: resolution_note(method).to_owned(),
            ..Resolution::default()
        });
        let aid_grants = draft
            .aid
            .iter()
            .map(|(granted, amount)| JudicialAid {
                granted_on: Some(date(*granted)),
                amount_fen: *amount,
                recipient: recipient(rng),
                ..JudicialAid::default()
            })
            .collect();

        Case {
            region: format!("regions/{}", procuratorate.code),
            case_number,
            case_type: draft.case_type as i32,
            status: if closed {
                CaseStatus::Concluded
            } else {
                CaseStatus::Accepted
            } as i32,
            applicant_type: draft.applicant_type as i32,
            sector: draft.sector as i32,
            accepted_on: Some(date(draft.accepted)),
            concluded_on: closed.then(|| date(concluded)),
            leader_handled: draft.leader_handled,
            public_hearing: draft.public_hearing,
            private_enterprise: draft.private_enterprise,
            spp_listed_batch: draft.spp_listed_batch,
            typical: draft.typical,
            summary: format!(
                "演示数据（种子 {seed}，非真实案件）：{}领域{}案件。",
                sector_words(draft.sector),
                case_type_words(draft.case_type)
            ),
            measures,
            resolution,
            aid_grants,
            ..Case::default()
        }
    }
}

/// The acceptance day of a case whose first event is on `first_event`: `lag` days before it
/// (a random number in the range), or a random day from [`FIRST_DAY`] when that would fall
/// before the data set; moved back to a working day where possible.
fn accepted_before(rng: &mut Rng, first_event: Day, lag: (i64, i64)) -> Day {
    let mut accepted = first_event - rng.between(lag.0, lag.1) as Day;
    if accepted < FIRST_DAY {
        accepted = rng.between(i64::from(FIRST_DAY), i64::from(first_event)) as Day;
    }
    while is_weekend(accepted) && accepted > FIRST_DAY {
        accepted -= 1;
    }
    accepted
}

/// `wanted` distinct elements of `candidates`, drawn at random.
fn pick_distinct(rng: &mut Rng, mut candidates: Vec<usize>, wanted: usize) -> Vec<usize> {
    assert!(
        candidates.len() >= wanted,
        "the demo generator found {} candidates where it needs {wanted}",
        candidates.len()
    );
    let mut picked = Vec::with_capacity(wanted);
    for _ in 0..wanted {
        let i = rng.index(candidates.len());
        picked.push(candidates.swap_remove(i));
    }
    picked
}

/// A typical aid grant: 2,000 to 42,000 yuan in whole hundreds, now and then with a tail.
fn round_amount(rng: &mut Rng) -> i64 {
    let yuan = 100 * rng.between(20, 420);
    let fen = yuan * 100;
    if rng.chance(0.15) {
        fen + rng.between(1, 9_999)
    } else {
        fen
    }
}

/// `count` aid amounts in fen, between 1,000 yuan and 100,000 yuan, that add up to exactly
/// `total`: mostly whole thousands of yuan, one amount taking the odd remainder, and a few
/// pairs exchanging some fen (which keeps the sum).
fn amounts_adding_up_to(rng: &mut Rng, count: usize, total: i64) -> Vec<i64> {
    const THOUSAND_YUAN: i64 = 100_000;
    const LOW: i64 = THOUSAND_YUAN;
    const HIGH: i64 = 100 * THOUSAND_YUAN;
    let mean = total / count as i64;
    let mut amounts: Vec<i64> = (0..count)
        .map(|_| THOUSAND_YUAN * rng.between(2, (2 * mean / THOUSAND_YUAN - 2).max(3)))
        .collect();
    let mut difference = total - amounts.iter().sum::<i64>();
    while difference.abs() >= THOUSAND_YUAN {
        let step = THOUSAND_YUAN * difference.signum();
        let i = rng.index(count);
        if (LOW..=HIGH).contains(&(amounts[i] + step)) {
            amounts[i] += step;
            difference -= step;
        }
    }
    let i = rng.index(count);
    amounts[i] += difference;
    for _ in 0..count / 8 {
        let (a, b) = (rng.index(count), rng.index(count));
        let moved = rng.between(1, 9_999);
        if a != b && amounts[b] - moved >= LOW && amounts[a] + moved <= HIGH {
            amounts[a] += moved;
            amounts[b] -= moved;
        }
    }
    amounts
}

/// The sector of a new case of `case_type`.
fn sector_for(rng: &mut Rng, case_type: CaseType) -> Sector {
    use Sector::*;
    match case_type {
        CaseType::NonLitigationEnforcementSupervision => choose(
            rng,
            &[
                (NaturalResources, 35),
                (HousingUrbanRural, 15),
                (HumanResourcesSocialSecurity, 5),
                (PublicSecurity, 3),
                (MarketRegulation, 12),
                (EcologyEnvironment, 15),
                (Other, 15),
            ],
        ),
        CaseType::EnforcementSupervision => choose(
            rng,
            &[
                (NaturalResources, 20),
                (HousingUrbanRural, 18),
                (HumanResourcesSocialSecurity, 14),
                (PublicSecurity, 8),
                (MarketRegulation, 10),
                (EcologyEnvironment, 8),
                (Other, 22),
            ],
        ),
        _ => choose(
            rng,
            &[
                (NaturalResources, 24),
                (HousingUrbanRural, 20),
                (HumanResourcesSocialSecurity, 17),
                (PublicSecurity, 12),
                (MarketRegulation, 6),
                (EcologyEnvironment, 4),
                (Other, 17),
            ],
        ),
    }
}

/// The department of an administrative organ of `sector` (for [`regions::Procuratorate::organ`]).
fn department(rng: &mut Rng, sector: Sector) -> &'static str {
    match sector {
        Sector::NaturalResources => "自然资源",
        Sector::HousingUrbanRural => "住房和城乡建设",
        Sector::HumanResourcesSocialSecurity => "人力资源和社会保障",
        Sector::PublicSecurity => "公安",
        Sector::MarketRegulation => "市场监督管理",
        Sector::EcologyEnvironment => "生态环境",
        _ => choose(
            rng,
            &[
                ("", 4),
                ("综合行政执法", 2),
                ("交通运输", 2),
                ("农业农村", 1),
                ("税务", 1),
                ("教育", 1),
            ],
        ),
    }
}

/// Who a measure of `kind` from `procuratorate` goes to: the court beside it for the court
/// measures, an organ of the case's sector for suggestions to administrative organs, and for
/// social governance mostly the local government or an organ, sometimes an institution or the
/// court.
fn addressee(
    rng: &mut Rng,
    procuratorate: &regions::Procuratorate,
    kind: MeasureKind,
    sector: Sector,
) -> (AddresseeType, String) {
    match kind {
        MeasureKind::AdministrativeOrganSuggestion => (
            AddresseeType::AdministrativeOrgan,
            procuratorate.organ(department(rng, sector)),
        ),
        MeasureKind::SocialGovernanceSuggestion => {
            match choose(rng, &[(0, 35), (1, 25), (2, 30), (3, 10)]) {
                0 => (AddresseeType::AdministrativeOrgan, procuratorate.organ("")),
                1 => (
                    AddresseeType::AdministrativeOrgan,
                    procuratorate.organ(department(rng, sector)),
                ),
                2 => {
                    let unit = choose(
                        rng,
                        &[
                            ("不动产登记中心", 3),
                            ("住房公积金管理中心", 2),
                            ("社会保险事业管理中心", 2),
                            ("公共资源交易中心", 1),
                        ],
                    );
                    (AddresseeType::OtherOrgan, procuratorate.institution(unit))
                }
                _ => (AddresseeType::Court, procuratorate.court()),
            }
        }
        _ => (AddresseeType::Court, procuratorate.court()),
    }
}

fn resolution_note(method: ResolutionMethod) -> &'static str {
    match method {
        ResolutionMethod::SupervisionCorrection => "经检察监督，行政机关自行纠正，争议化解。",
        ResolutionMethod::Reconciliation => "检察机关促成双方和解，申请人撤回监督申请。",
        ResolutionMethod::JudicialAssistance => "对申请人予以司法救助，申请人息诉罢访。",
        ResolutionMethod::PublicHearingSettlement => "经公开听证，双方达成一致，争议化解。",
        _ => "经释法说理，申请人服判息诉。",
    }
}

fn recipient(rng: &mut Rng) -> String {
    const SURNAMES: [&str; 20] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
        "郭", "何", "高", "林", "罗",
    ];
    let surname = SURNAMES[rng.index(SURNAMES.len())];
    if rng.chance(0.3) {
        format!("{surname}某某")
    } else {
        format!("{surname}某")
    }
}

fn sector_words(sector: Sector) -> &'static str {
    match sector {
        Sector::NaturalResources => "自然资源",
        Sector::HousingUrbanRural => "住房和城乡建设",
        Sector::HumanResourcesSocialSecurity => "人力资源和社会保障",
        Sector::PublicSecurity => "公安",
        Sector::MarketRegulation => "市场监督管理",
        Sector::EcologyEnvironment => "生态环境",
        _ => "其他",
    }
}

fn case_type_words(case_type: CaseType) -> &'static str {
    match case_type {
        CaseType::JudgmentSupervision => "生效裁判监督",
        CaseType::TrialConductSupervision => "审判人员违法行为监督",
        CaseType::EnforcementSupervision => "执行活动监督",
        _ => "非诉执行监督",
    }
}
