//! `procura regions get|list`: the region tree (行政区划), read-only.

use clap::Subcommand;
use procura_proto::v1::region_service_client::RegionServiceClient;
use procura_proto::v1::{GetRegionRequest, ListRegionsRequest, Region, RegionLevel};
use serde_json::Value;

use super::{Context, FormatArg, call, paginate};
use crate::convert::{enum_name, parse_region_code, region_code, region_name};
use crate::output::{
    OutputFormat, Table, emit, emit_csv, emit_json, format_count, region_json, render_fields,
};

/// Subcommands of `procura regions`.
#[derive(Debug, Subcommand)]
pub enum RegionsCommand {
    /// Show one region (行政区划) by its six-digit code.
    Get {
        /// Division code, e.g. 530100 (or regions/530100).
        #[arg(value_parser = parse_region_code)]
        code: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List the direct children of a region, or every region of one level below it.
    ///
    /// Prints code, name, English name, level and child count. Goes through every page.
    List {
        /// The region whose subtree is listed [default: the whole country, 000000].
        #[arg(long, value_parser = parse_region_code)]
        parent: Option<String>,
        /// List every region of this level inside the parent's subtree instead of the
        /// direct children.
        #[arg(long, value_parser = crate::convert::sub_national_level_parser())]
        level: Option<RegionLevel>,
        /// Go through every page (the default; kept for scripts).
        #[arg(long)]
        all: bool,
        /// Stop after this many regions.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Runs a `procura regions` subcommand.
pub async fn run(command: RegionsCommand, ctx: &Context) -> anyhow::Result<()> {
    let client = RegionServiceClient::new(ctx.channel().await?);
    match command {
        RegionsCommand::Get { code, format } => {
            let request = GetRegionRequest {
                name: region_name(&code),
            };
            let response = call(&client, &request, |mut c, r| async move {
                c.get_region(r).await
            })
            .await?;
            let region = response.region.unwrap_or_default();
            match ctx.format(&format) {
                OutputFormat::Table => emit(&region_fields(&region)),
                OutputFormat::Json => emit_json(&region_json(&region)),
                OutputFormat::Csv => emit_csv(&[csv_header(), csv_row(&region)]),
            }
        }
        RegionsCommand::List {
            parent,
            level,
            all: _,
            limit,
            format,
        } => {
            let limit = limit.map(|l| l as usize);
            let regions = paginate(
                &client,
                limit,
                |read, page_token| {
                    let page_size = limit.map_or(1000, |l| (l - read).min(1000));
                    ListRegionsRequest {
                        parent: parent.as_deref().map(region_name).unwrap_or_default(),
                        level: level.map_or(0, Into::into),
                        page_size: i32::try_from(page_size).unwrap_or(1000),
                        page_token,
                    }
                },
                |mut c, r| async move { c.list_regions(r).await },
            )
            .await?;
            match ctx.format(&format) {
                OutputFormat::Table => emit(&regions_table(&regions)),
                OutputFormat::Json => {
                    emit_json(&Value::Array(regions.iter().map(region_json).collect()))
                }
                OutputFormat::Csv => {
                    let mut records = vec![csv_header()];
                    records.extend(regions.iter().map(csv_row));
                    emit_csv(&records)
                }
            }
        }
    }
}

/// Regions as a table for people, with a count line. The English-name column is shown only
/// when one of the regions has an English name: the region table has them for the provinces
/// and the root, not below.
fn regions_table(regions: &[Region]) -> String {
    let english = regions.iter().any(|r| !r.english_name.is_empty());
    let mut headers = vec!["CODE", "NAME"];
    if english {
        headers.push("ENGLISH NAME");
    }
    headers.extend(["LEVEL", "CHILDREN"]);
    let mut table = Table::new(headers.clone()).right_align(&[headers.len() - 1]);
    for region in regions {
        let mut row = vec![region.code.clone(), region.display_name.clone()];
        if english {
            row.push(region.english_name.clone());
        }
        row.extend([
            enum_name::<RegionLevel>(region.level),
            format_count(i64::from(region.child_count)),
        ]);
        table.push(row);
    }
    let noun = if regions.len() == 1 {
        "region"
    } else {
        "regions"
    };
    format!(
        "{}({} {noun})\n",
        table.render(),
        format_count(regions.len() as i64)
    )
}

fn region_fields(region: &Region) -> String {
    let mut fields = vec![
        ("Code", region.code.clone()),
        ("Name", region.display_name.clone()),
    ];
    if !region.english_name.is_empty() {
        fields.push(("English name", region.english_name.clone()));
    }
    fields.extend([
        ("Level", enum_name::<RegionLevel>(region.level)),
        (
            "Parent",
            if region.parent.is_empty() {
                "-".to_owned()
            } else {
                region_code(&region.parent).to_owned()
            },
        ),
        ("Children", format_count(i64::from(region.child_count))),
    ]);
    render_fields(&fields)
}

fn csv_header() -> Vec<String> {
    [
        "code",
        "display_name",
        "english_name",
        "level",
        "parent",
        "child_count",
    ]
    .map(String::from)
    .to_vec()
}

fn csv_row(region: &Region) -> Vec<String> {
    vec![
        region.code.clone(),
        region.display_name.clone(),
        region.english_name.clone(),
        enum_name::<RegionLevel>(region.level),
        region_code(&region.parent).to_owned(),
        region.child_count.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str, name: &str, english: &str, level: RegionLevel, children: i32) -> Region {
        Region {
            name: format!("regions/{code}"),
            code: code.to_owned(),
            parent: "regions/000000".to_owned(),
            level: level.into(),
            display_name: name.to_owned(),
            english_name: english.to_owned(),
            child_count: children,
        }
    }

    #[test]
    fn the_english_name_column_is_shown_only_when_a_region_has_one() {
        let provinces = [
            region("530000", "云南省", "Yunnan", RegionLevel::Province, 16),
            region("540000", "西藏自治区", "Tibet", RegionLevel::Province, 7),
        ];
        assert_eq!(
            regions_table(&provinces),
            "CODE    NAME        ENGLISH NAME  LEVEL     CHILDREN\n\
             530000  云南省      Yunnan        province        16\n\
             540000  西藏自治区  Tibet         province         7\n\
             (2 regions)\n"
        );
        let prefecture = [region("530100", "昆明市", "", RegionLevel::Prefecture, 14)];
        assert_eq!(
            regions_table(&prefecture),
            "CODE    NAME    LEVEL       CHILDREN\n\
             530100  昆明市  prefecture        14\n\
             (1 region)\n"
        );
        assert!(!region_fields(&prefecture[0]).contains("English name"));
        assert!(region_fields(&provinces[0]).contains("English name: Yunnan"));
    }
}
