//! The figures people can trust, through the `procura` binary: revisions, a release with its
//! qualifiers, a correction, the diff naming the record behind it, drill-down and charts.

use procura_proto::v1::{GetRollupRequest, Role};

use crate::helpers::*;

#[tokio::test]
async fn publish_correct_diff_and_draw_through_the_cli() {
    let app = spawn_app().await;
    let create = |number: &'static str, accepted: &'static str| {
        let app = &app;
        async move {
            app.cli(&[
                "cases",
                "create",
                "--region",
                "530102",
                "--case-number",
                number,
                "--type",
                "judgment",
                "--applicant",
                "natural-person",
                "--sector",
                "public-security",
                "--accepted",
                accepted,
            ])
            .await
            .expect_success("cases create")
            .to_owned()
        }
    };
    create("R-1", "2020-03-01").await;
    create("R-2", "2020-04-01").await;
    app.cli(&[
        "measures",
        "add",
        "cases/1",
        "--kind",
        "trial-violation-suggestion",
        "--issued",
        "2020-05-01",
        "--addressee",
        "五华区人民法院",
    ])
    .await
    .expect_success("measures add");

    // Each step as its own principal, with a token given on the command line.
    let press = app
        .principal_token("press-office", &[(Role::Publisher, "530000")])
        .await;
    let auditor = app
        .principal_token("auditor", &[(Role::Submitter, "530000")])
        .await;
    let published = app
        .cli(&[
            "--token",
            &press,
            "releases",
            "publish",
            "--region",
            "530000",
            "--year",
            "2020",
            "--by",
            "prefecture",
            "--title",
            "Yunnan 2020",
            "--more-than",
            "measures.trial_violation_suggestion",
        ])
        .await;
    let out = published.expect_success("releases publish");
    assert_eq!(row(out, "Release:"), ["releases/1"], "{out}");
    assert_eq!(row(out, "Published by:"), ["press-office"], "{out}");
    // The figure published as "more than" shows so (value, previous, change, bar), and an
    // exact one does not.
    let more_than = row(
        out,
        "Suggestions on trial personnel's illegal acts (审判人员违法行为检察建议)",
    );
    assert_eq!(more_than[..3], ["1+", "0", "n/a"], "{out}");
    let exact = row(out, "Cases accepted (受理案件)");
    assert_eq!(exact[..3], ["2", "0", "n/a"], "{out}");
    let before = app.cli(&["releases", "get", "releases/1"]).await;
    let before = before.expect_success("releases get").to_owned();

    let withdrawn = app
        .cli(&[
            "--token",
            &auditor,
            "cases",
            "withdraw",
            "cases/2",
            "--reason",
            "entered twice",
        ])
        .await;
    withdrawn.expect_success("cases withdraw");
    let revisions = app.cli(&["cases", "revisions", "cases/2"]).await;
    let revisions = revisions.expect_success("cases revisions");
    assert_eq!(
        row(revisions, "cases/2:"),
        ["2", "revisions"],
        "{revisions}"
    );
    let second = row(revisions, "revision 2");
    assert_eq!(
        second[1..],
        ["by", "auditor", "entered", "twice"],
        "{revisions}"
    );
    assert_eq!(
        row(revisions, "status:"),
        ["accepted", "→", "withdrawn"],
        "{revisions}"
    );

    let diff = app.cli(&["releases", "diff", "releases/1"]).await;
    let diff = diff.expect_success("releases diff");
    assert_eq!(
        row(diff, "2 figures changed since the release:"),
        Vec::<&str>::new(),
        "{diff}"
    );
    // One row per region: the figure of the period went from 2 to 1.
    for region in ["530000 云南省", "530100 昆明市"] {
        assert_eq!(
            row(diff, &format!("{region} Cases accepted (受理案件)")),
            ["period", "2", "→", "1"],
            "{diff}"
        );
        let heading = format!("{region} · Cases accepted (受理案件) · period: released 2 → live 1");
        assert!(diff.lines().any(|l| l == heading), "{heading}:\n{diff}");
    }
    // Under each, the case that moved it: 1 → 0 by its revision 2.
    let records = rows_starting(diff, "cases/2 R-2");
    assert_eq!(records.len(), 2, "{diff}");
    for record in records {
        assert_eq!(record[..4], ["1", "→", "0", "2"], "{diff}");
        assert_eq!(
            record[5..],
            [
                "auditor",
                "entered",
                "twice",
                "status:",
                "accepted",
                "→",
                "withdrawn"
            ],
            "{diff}"
        );
    }
    // The release itself is unchanged.
    let after = app.cli(&["releases", "get", "releases/1"]).await;
    assert_eq!(after.expect_success("releases get"), before);

    let explain = app
        .cli(&[
            "rollup",
            "explain",
            "--region",
            "530102",
            "--year",
            "2020",
            "--metric",
            "cases.accepted",
        ])
        .await;
    let explain = explain.expect_success("rollup explain");
    assert_eq!(
        row(explain, "Cases of the region's own procuratorate (1):"),
        Vec::<&str>::new(),
        "{explain}"
    );
    assert_eq!(row(explain, "cases/1 R-1"), ["530102", "1"], "{explain}");
    assert!(
        !has_word(explain, "R-2") && !has_word(explain, "cases/2"),
        "withdrawn cases count nowhere: {explain}"
    );

    for extension in ["svg", "png"] {
        let path = std::env::temp_dir().join(format!(
            "procura-chart-{}.{extension}",
            uuid::Uuid::new_v4().simple()
        ));
        let chart = path.to_str().unwrap();
        let mut args: Vec<&str> = "rollup --region 530000 --year 2020 --by prefecture --chart"
            .split(' ')
            .collect();
        args.push(chart);
        let drawn = app.cli(&args).await;
        drawn.expect_success("rollup --chart");
        // Every region by its name, whatever fonts the machine has: no remark after the path.
        assert_eq!(drawn.stderr, format!("chart written to {chart}\n"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        if extension == "png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
            assert!(bytes.len() > 10_000, "a real picture, not an empty one");
        } else {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains("<svg") && text.contains("<rect"), "{text}");
        }
    }
}

/// Every label the server gives a figure or an indicator can be drawn in a PNG chart with the
/// CLI's fonts, Chinese part and all (else the chart shows only the English part).
#[tokio::test]
async fn every_figure_label_can_be_drawn_in_a_chart() {
    let app = spawn_app().await;
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("000000"),
            period: year(2020),
            include_indicators: true,
            ..GetRollupRequest::default()
        })
        .await;
    assert!(!rollup.indicators.is_empty(), "{rollup:?}");
    let fonts = procura_client::chart::fonts();
    let undrawable: Vec<&str> = rollup
        .figures
        .iter()
        .map(|f| f.label.as_str())
        .chain(rollup.indicators.iter().map(|i| i.label.as_str()))
        .filter(|label| label.is_empty() || !fonts.can_draw(label))
        .collect();
    assert_eq!(
        undrawable,
        Vec::<&str>::new(),
        "labels the chart fonts cannot draw: rebuild data/fonts with data/fonts/subset.sh"
    );
}
