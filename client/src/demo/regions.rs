//! The procuratorates the demo's cases are spread over: every region of `data/regions.csv`
//! (embedded at build time) that has a procuratorate, chosen by province population and level,
//! and the names of the courts and administrative organs beside them.

use super::rng::{Rng, Weighted, choose};

/// The region tree, `code,parent_code,level,name,name_en`.
const REGIONS_CSV: &str = include_str!("../../../data/regions.csv");

/// Resident population of each province-level division in the 2020 census, in units of
/// 100,000 (第七次全国人口普查): the weight of a province in the demo.
const PROVINCE_POPULATION: [(&str, u64); 31] = [
    ("110000", 219),
    ("120000", 139),
    ("130000", 746),
    ("140000", 349),
    ("150000", 240),
    ("210000", 426),
    ("220000", 241),
    ("230000", 319),
    ("310000", 249),
    ("320000", 847),
    ("330000", 646),
    ("340000", 610),
    ("350000", 415),
    ("360000", 452),
    ("370000", 1015),
    ("410000", 994),
    ("420000", 578),
    ("430000", 664),
    ("440000", 1260),
    ("450000", 501),
    ("460000", 101),
    ("500000", 321),
    ("510000", 837),
    ("520000", 386),
    ("530000", 472),
    ("540000", 36),
    ("610000", 395),
    ("620000", 250),
    ("630000", 59),
    ("640000", 72),
    ("650000", 259),
];

/// Prefecture-level rows that group counties but have no procuratorate of their own
/// (the districts of a municipality, counties directly under a province).
const PLACEHOLDER_PREFECTURES: [&str; 4] = [
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
];

/// The level of a procuratorate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A provincial procuratorate (省级院).
    Province,
    /// A prefecture (city) procuratorate (市级院).
    Prefecture,
    /// A county or district procuratorate (基层院).
    County,
}

/// A procuratorate: its region and the place name its neighbours are called by.
#[derive(Debug, Clone)]
pub struct Procuratorate {
    /// Six-digit region code.
    pub code: String,
    /// Level.
    pub level: Level,
    /// The place as courts and organs there are named, e.g. `云南省`, `昆明市`,
    /// `昆明市五华区`, `宜良县`.
    pub place: String,
}

impl Procuratorate {
    /// The people's court at the same level: `云南省高级人民法院`, `昆明市中级人民法院`,
    /// `昆明市五华区人民法院`.
    pub fn court(&self) -> String {
        match self.level {
            Level::Province => format!("{}高级人民法院", self.place),
            Level::Prefecture => format!("{}中级人民法院", self.place),
            Level::County => format!("{}人民法院", self.place),
        }
    }

    /// An administrative organ of this place: `department` (e.g. `自然资源`) with the suffix of
    /// its level (厅 at provinces, 局 below), or `人民政府` for an empty department.
    pub fn organ(&self, department: &str) -> String {
        if department.is_empty() {
            return format!("{}人民政府", self.place);
        }
        let suffix = match (self.level, department) {
            (_, "市场监督管理" | "综合行政执法" | "税务") => "局",
            (Level::Province, _) => "厅",
            _ => "局",
        };
        format!("{}{department}{suffix}", self.place)
    }

    /// A public institution of this place, `unit` e.g. `不动产登记中心`.
    pub fn institution(&self, unit: &str) -> String {
        format!("{}{unit}", self.place)
    }
}

/// One province with the procuratorates inside it.
#[derive(Debug)]
struct Province {
    /// Index of the provincial procuratorate.
    own: usize,
    /// Prefecture procuratorates (indexes), with their weights (1 + number of counties).
    prefectures: Vec<usize>,
    prefecture_weights: Weighted,
    /// County procuratorates (indexes).
    counties: Vec<usize>,
}

/// Every procuratorate below the SPP, and how to pick one.
#[derive(Debug)]
pub struct Procuratorates {
    all: Vec<Procuratorate>,
    provinces: Vec<Province>,
    province_weights: Weighted,
}

impl Procuratorates {
    /// The procuratorates of the embedded region tree.
    pub fn load() -> Self {
        struct Row<'a> {
            code: &'a str,
            parent: &'a str,
            level: &'a str,
            name: &'a str,
        }
        let rows: Vec<Row<'_>> = REGIONS_CSV
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let mut cols = line.split(',');
                let mut next = || cols.next().unwrap_or_default().trim();
                Row {
                    code: next(),
                    parent: next(),
                    level: next(),
                    name: next(),
                }
            })
            .collect();
        let by_code = |code: &str| rows.iter().find(|r| r.code == code);

        let mut all = Vec::new();
        let mut provinces = Vec::new();
        let mut weights = Vec::new();
        for (province_code, population) in PROVINCE_POPULATION {
            let province = by_code(province_code)
                .unwrap_or_else(|| panic!("data/regions.csv lacks province {province_code}"));
            let own = all.len();
            all.push(Procuratorate {
                code: province.code.to_owned(),
                level: Level::Province,
                place: province.name.to_owned(),
            });
            let mut prefectures = Vec::new();
            let mut prefecture_weights = Vec::new();
            let mut counties = Vec::new();
            for prefecture in rows
                .iter()
                .filter(|r| r.level == "prefecture" && r.parent == province_code)
            {
                let placeholder = PLACEHOLDER_PREFECTURES.contains(&prefecture.name);
                let county_rows: Vec<&Row<'_>> = rows
                    .iter()
                    .filter(|r| r.level == "county" && r.parent == prefecture.code)
                    .collect();
                if !placeholder {
                    prefectures.push(all.len());
                    prefecture_weights.push(1 + county_rows.len() as u64);
                    all.push(Procuratorate {
                        code: prefecture.code.to_owned(),
                        level: Level::Prefecture,
                        place: prefecture.name.to_owned(),
                    });
                }
                for county in county_rows {
                    // Districts share names across cities (鼓楼区): say whose. Counties and
                    // county-level cities go by their own name.
                    let place = if county.name.ends_with('区') {
                        let city = if placeholder {
                            province.name
                        } else {
                            prefecture.name
                        };
                        format!("{city}{}", county.name)
                    } else {
                        county.name.to_owned()
                    };
                    counties.push(all.len());
                    all.push(Procuratorate {
                        code: county.code.to_owned(),
                        level: Level::County,
                        place,
                    });
                }
            }
            if prefecture_weights.is_empty() {
                // Never drawn from: `pick` checks for prefectures first.
                prefecture_weights.push(1);
            }
            provinces.push(Province {
                own,
                prefectures,
                prefecture_weights: Weighted::new(prefecture_weights),
                counties,
            });
            weights.push(population);
        }
        Self {
            all,
            provinces,
            province_weights: Weighted::new(weights),
        }
    }

    /// The procuratorate at `index`.
    pub fn get(&self, index: usize) -> &Procuratorate {
        &self.all[index]
    }

    /// Picks a procuratorate: a province by population, then a level by `mix` (weights of
    /// province, prefecture, county), then a prefecture by its size or a county uniformly.
    /// A level the province lacks (prefectures of a municipality) falls to the counties.
    pub fn pick(&self, rng: &mut Rng, mix: [u32; 3]) -> usize {
        let province = &self.provinces[self.province_weights.pick(rng)];
        let level = choose(
            rng,
            &[
                (Level::Province, mix[0]),
                (Level::Prefecture, mix[1]),
                (Level::County, mix[2]),
            ],
        );
        match level {
            Level::Province => province.own,
            Level::Prefecture if !province.prefectures.is_empty() => {
                province.prefectures[province.prefecture_weights.pick(rng)]
            }
            _ if !province.counties.is_empty() => {
                province.counties[rng.index(province.counties.len())]
            }
            _ => province.own,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_prefecture_and_county_has_a_procuratorate() {
        let all = Procuratorates::load();
        let count = |level| all.all.iter().filter(|p| p.level == level).count();
        assert_eq!(count(Level::Province), 31);
        // 342 prefecture rows, less the 9 that only group counties (市辖区, 省直辖县级行政区划...).
        assert_eq!(count(Level::Prefecture), 333);
        assert_eq!(count(Level::County), 2975);
        let find = |code: &str| all.all.iter().find(|p| p.code == code).expect(code);
        assert_eq!(find("530000").court(), "云南省高级人民法院");
        assert_eq!(find("530100").court(), "昆明市中级人民法院");
        assert_eq!(find("530102").court(), "昆明市五华区人民法院");
        assert_eq!(find("530125").court(), "宜良县人民法院");
        assert_eq!(find("110105").court(), "北京市朝阳区人民法院");
        assert_eq!(find("530000").organ("自然资源"), "云南省自然资源厅");
        assert_eq!(find("530100").organ("公安"), "昆明市公安局");
        assert_eq!(find("530102").organ(""), "昆明市五华区人民政府");
    }

    #[test]
    fn picks_follow_the_level_mix() {
        let all = Procuratorates::load();
        let mut rng = Rng::new(5, 5);
        for _ in 0..500 {
            assert_eq!(
                all.get(all.pick(&mut rng, [1, 0, 0])).level,
                Level::Province
            );
            assert_eq!(all.get(all.pick(&mut rng, [0, 0, 1])).level, Level::County);
            let level = all.get(all.pick(&mut rng, [0, 1, 0])).level;
            // Municipalities have no prefecture procuratorates in the tree: their counties.
            assert_ne!(level, Level::Province);
        }
    }
}
