//! Deterministic generated data: the regions, the random cases with their measures, resolutions and aid grants, the same for the COPY baseline and the import.

use super::*;

/// SplitMix64: small, fast and the same on every platform and crate version.
pub(crate) struct Rng(pub(crate) u64);

pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream of case (or task) `index` under `seed`: each case can be regenerated alone.
    pub(crate) fn new(seed: u64, index: u64) -> Rng {
        Rng(mix(
            seed ^ index.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille` / 1000.
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into `weights`, drawn in proportion to them.
    pub(crate) fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// A procuratorate: a region below the national level.
pub(crate) struct Place {
    pub(crate) code: String,
    pub(crate) name: String,
}

/// Draws places in proportion to fixed weights.
pub(crate) struct Sampler {
    pub(crate) places: Vec<usize>,
    pub(crate) cumulative: Vec<u64>,
}

impl Sampler {
    pub(crate) fn new(weighted: Vec<(usize, u64)>) -> Sampler {
        let mut total = 0;
        let mut places = Vec::with_capacity(weighted.len());
        let mut cumulative = Vec::with_capacity(weighted.len());
        for (place, weight) in weighted {
            total += weight;
            places.push(place);
            cumulative.push(total);
        }
        Sampler { places, cumulative }
    }

    pub(crate) fn pick(&self, rng: &mut Rng) -> usize {
        let x = rng.below(*self.cumulative.last().unwrap());
        self.places[self.cumulative.partition_point(|c| *c <= x)]
    }
}

/// The procuratorates of `data/regions.csv` and how many cases each handles: 94% of cases
/// at county procuratorates (weights 1..16 times a provincial factor 1..4), 5% at prefecture
/// and 1% at provincial procuratorates.
pub(crate) struct Places {
    pub(crate) places: Vec<Place>,
    pub(crate) counties: Sampler,
    pub(crate) prefectures: Sampler,
    pub(crate) provinces: Sampler,
    /// The county with the largest weight.
    pub(crate) busiest_county: usize,
}

pub(crate) fn code_number(code: &str) -> u64 {
    code.parse().unwrap_or(0)
}

impl Places {
    pub(crate) fn load() -> Result<Places> {
        let mut places = Vec::new();
        let (mut counties, mut prefectures, mut provinces) = (Vec::new(), Vec::new(), Vec::new());
        for line in REGIONS_CSV.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            ensure!(fields.len() == 5, "data/regions.csv: bad line `{line}`");
            let (code, level, name) = (fields[0], fields[2], fields[3]);
            let n = code_number(code);
            let province_factor = 1 + mix(n / 10_000 * 10_000) % 4;
            let weight = match level {
                "county" => 94 * (1 + mix(n) % 16) * province_factor,
                "prefecture" => 5 * (1 + mix(n) % 4),
                "province" => 1,
                _ => continue,
            };
            let index = places.len();
            places.push(Place {
                code: code.to_owned(),
                name: name.to_owned(),
            });
            match level {
                "county" => counties.push((index, weight)),
                "prefecture" => prefectures.push((index, weight)),
                _ => provinces.push((index, weight)),
            }
        }
        ensure!(
            !counties.is_empty() && !prefectures.is_empty() && !provinces.is_empty(),
            "data/regions.csv has no counties, prefectures or provinces"
        );
        let busiest_county = counties
            .iter()
            .max_by_key(|(index, weight)| (*weight, std::cmp::Reverse(*index)))
            .map(|(index, _)| *index)
            .unwrap();
        Ok(Places {
            places,
            counties: Sampler::new(counties),
            prefectures: Sampler::new(prefectures),
            provinces: Sampler::new(provinces),
            busiest_county,
        })
    }
}

pub(crate) struct GenMeasure {
    pub(crate) kind: i32,
    pub(crate) issued_on: NaiveDate,
    pub(crate) addressee_type: i32,
    pub(crate) addressee: String,
    pub(crate) adoption: i32,
    pub(crate) answered_on: Option<NaiveDate>,
}

pub(crate) struct GenResolution {
    pub(crate) method: i32,
    pub(crate) resolved_on: NaiveDate,
    pub(crate) note: &'static str,
}

pub(crate) struct GenAid {
    pub(crate) granted_on: NaiveDate,
    pub(crate) amount_fen: i64,
    pub(crate) recipient: &'static str,
}

/// One generated case with everything under it.
pub(crate) struct GenCase {
    pub(crate) place: usize,
    pub(crate) case_number: String,
    pub(crate) case_type: i32,
    pub(crate) status: i32,
    pub(crate) applicant_type: i32,
    pub(crate) sector: i32,
    pub(crate) accepted_on: NaiveDate,
    pub(crate) concluded_on: Option<NaiveDate>,
    pub(crate) leader_handled: bool,
    pub(crate) public_hearing: bool,
    pub(crate) private_enterprise: bool,
    pub(crate) spp_listed_batch: i32,
    pub(crate) typical: bool,
    pub(crate) summary: &'static str,
    pub(crate) measures: Vec<GenMeasure>,
    pub(crate) resolution: Option<GenResolution>,
    pub(crate) aid: Vec<GenAid>,
}

pub(crate) const SUMMARIES: [&str; 8] = [
    "申请人不服行政处罚决定，申请对生效行政判决进行监督",
    "申请人认为房屋征收补偿决定违法，法院裁定驳回起诉",
    "工伤认定行政诉讼，申请人不服二审判决",
    "行政机关申请法院强制执行拆除违法建筑",
    "申请人反映审判人员违反法定程序",
    "不动产登记行政争议，当事人申请监督",
    "民营企业不服市场监管部门行政处罚",
    "生态环境行政处罚非诉执行案件",
];

/// The administrative organ of each sector (1..7).
pub(crate) const ORGANS: [&str; 7] = [
    "自然资源局",
    "住房和城乡建设局",
    "人力资源和社会保障局",
    "公安局",
    "市场监督管理局",
    "生态环境局",
    "人民政府",
];

/// Generates case `i` of a seeded data set: accepted 2019-01-01..2020-12-31, 2.0 measures
/// on average, 30% with a resolution, 5% with aid grants.
pub(crate) struct Generator {
    pub(crate) places: Places,
    pub(crate) seed: u64,
}

/// How many records a range of generated cases holds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) cases: u64,
    pub(crate) measures: u64,
    pub(crate) resolutions: u64,
    pub(crate) aid: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, c: &GenCase) {
        self.cases += 1;
        self.measures += c.measures.len() as u64;
        self.resolutions += u64::from(c.resolution.is_some());
        self.aid += c.aid.len() as u64;
    }

    pub(crate) fn merge(&mut self, other: Counts) {
        self.cases += other.cases;
        self.measures += other.measures;
        self.resolutions += other.resolutions;
        self.aid += other.aid;
    }

    pub(crate) fn rows(&self) -> u64 {
        self.cases + self.measures + self.resolutions + self.aid
    }
}

pub(crate) fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()
}

impl Generator {
    pub(crate) fn case(&self, i: u64) -> GenCase {
        let mut r = Rng::new(self.seed, i);
        let p = &self.places;
        let group = r.below(1000);
        let place = if group < 10 {
            p.provinces.pick(&mut r)
        } else if group < 60 {
            p.prefectures.pick(&mut r)
        } else {
            p.counties.pick(&mut r)
        };
        let place_name = &p.places[place].name;
        let accepted_on = first_day() + Days::new(r.below(731));
        let case_type = 1 + r.weighted(&[500, 150, 250, 100]) as i32;
        let applicant_type = 1 + r.weighted(&[800, 150, 50]) as i32;
        let sector = 1 + r.below(7) as i32;
        let status = 1 + r.weighted(&[280, 700, 20]) as i32;
        let concluded_on = (status == 2).then(|| accepted_on + Days::new(15 + r.below(200)));
        let private_enterprise = applicant_type == 2 || r.chance(30);
        let leader_handled = r.chance(50);
        let public_hearing = r.chance(80);
        let spp_listed_batch = if r.chance(2) {
            1 + r.below(5) as i32
        } else {
            0
        };
        let typical = r.chance(3);
        let summary = SUMMARIES[r.below(SUMMARIES.len() as u64) as usize];
        let measure_count = r.weighted(&[150, 250, 250, 200, 100, 50]);
        let measures = (0..measure_count)
            .map(|_| {
                let kind = 1 + r.weighted(&[50, 150, 150, 250, 100, 300]) as i32;
                let addressee_type = match kind {
                    1..=4 => 1,
                    6 => 2,
                    _ => 1 + r.below(3) as i32,
                };
                let addressee = match addressee_type {
                    1 => format!("{place_name}人民法院"),
                    2 => format!("{place_name}{}", ORGANS[(sector - 1) as usize]),
                    _ => format!("{place_name}人民政府"),
                };
                let issued_on = accepted_on + Days::new(r.below(120));
                let adoption = 1 + r.weighted(&[300, 600, 100]) as i32;
                let answered_on = (adoption != 1).then(|| issued_on + Days::new(5 + r.below(55)));
                GenMeasure {
                    kind,
                    issued_on,
                    addressee_type,
                    addressee,
                    adoption,
                    answered_on,
                }
            })
            .collect();
        let resolution = r.chance(300).then(|| GenResolution {
            method: 1 + r.below(5) as i32,
            resolved_on: accepted_on + Days::new(r.below(180)),
            note: if r.chance(500) {
                "经公开听证，当事人达成和解"
            } else {
                ""
            },
        });
        let aid_count = if r.chance(50) { 1 + r.below(2) } else { 0 };
        let aid = (0..aid_count)
            .map(|_| GenAid {
                granted_on: accepted_on + Days::new(r.below(90)),
                amount_fen: 50_000 + r.below(5_000_000) as i64,
                recipient: "申请人",
            })
            .collect();
        GenCase {
            place,
            case_number: format!(
                "{}检行监〔{}〕{}号",
                p.places[place].code,
                accepted_on.year(),
                i + 1
            ),
            case_type,
            status,
            applicant_type,
            sector,
            accepted_on,
            concluded_on,
            leader_handled,
            public_hearing,
            private_enterprise,
            spp_listed_batch,
            typical,
            summary,
            measures,
            resolution,
            aid,
        }
    }

    /// Cases `from..to` as an import batch, with what they hold.
    pub(crate) fn proto_batch(&self, from: u64, to: u64) -> (Vec<pb::Case>, Counts) {
        let mut counts = Counts::default();
        let cases = (from..to)
            .map(|i| {
                let c = self.case(i);
                counts.add(&c);
                self.to_proto(c)
            })
            .collect();
        (cases, counts)
    }

    pub(crate) fn to_proto(&self, c: GenCase) -> pb::Case {
        pb::Case {
            region: format!("regions/{}", self.places.places[c.place].code),
            case_number: c.case_number,
            case_type: c.case_type,
            status: c.status,
            applicant_type: c.applicant_type,
            sector: c.sector,
            accepted_on: Some(proto_date(c.accepted_on)),
            concluded_on: c.concluded_on.map(proto_date),
            leader_handled: c.leader_handled,
            public_hearing: c.public_hearing,
            private_enterprise: c.private_enterprise,
            spp_listed_batch: c.spp_listed_batch,
            typical: c.typical,
            summary: c.summary.to_owned(),
            measures: c
                .measures
                .into_iter()
                .map(|m| pb::Measure {
                    kind: m.kind,
                    issued_on: Some(proto_date(m.issued_on)),
                    addressee_type: m.addressee_type,
                    addressee: m.addressee,
                    adoption: m.adoption,
                    answered_on: m.answered_on.map(proto_date),
                    ..Default::default()
                })
                .collect(),
            resolution: c.resolution.map(|r| pb::Resolution {
                method: r.method,
                resolved_on: Some(proto_date(r.resolved_on)),
                note: r.note.to_owned(),
                ..Default::default()
            }),
            aid_grants: c
                .aid
                .into_iter()
                .map(|a| pb::JudicialAid {
                    granted_on: Some(proto_date(a.granted_on)),
                    amount_fen: a.amount_fen,
                    recipient: a.recipient.to_owned(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }
}

pub(crate) fn proto_date(d: NaiveDate) -> pb::Date {
    pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

// ---------------------------------------------------------------------------------------------
