//! The figures people can trust, through the `procura` binary: revisions, a release with its
//! qualifiers, a correction, the diff naming the record behind it, drill-down and charts.

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

    let published = app
        .cli(&[
            "--actor",
            "press-office",
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
    assert!(out.contains("releases/1"), "{out}");
    assert!(out.contains("press-office"), "{out}");
    // The figure published as "more than" shows so.
    assert!(out.contains("1+"), "{out}");
    let before = app.cli(&["releases", "get", "releases/1"]).await;
    let before = before.expect_success("releases get").to_owned();

    let withdrawn = app
        .cli(&[
            "--actor",
            "auditor",
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
    assert!(revisions.contains("auditor"), "{revisions}");
    assert!(revisions.contains("entered twice"), "{revisions}");
    assert!(revisions.contains("CASE_STATUS_WITHDRAWN"), "{revisions}");

    let diff = app.cli(&["releases", "diff", "releases/1"]).await;
    let diff = diff.expect_success("releases diff");
    assert!(diff.contains("Cases accepted"), "{diff}");
    assert!(diff.contains("2  →") || diff.contains("2 →"), "{diff}");
    assert!(diff.contains("cases/2") && diff.contains("R-2"), "{diff}");
    assert!(diff.contains("entered twice"), "{diff}");
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
    assert!(
        explain.contains("cases/1") && explain.contains("R-1"),
        "{explain}"
    );
    assert!(
        !explain.contains("R-2"),
        "withdrawn cases count nowhere: {explain}"
    );

    for extension in ["svg", "png"] {
        let path = std::env::temp_dir().join(format!(
            "procura-chart-{}.{extension}",
            uuid::Uuid::new_v4().simple()
        ));
        let chart = path.to_str().unwrap();
        app.cli(&[
            "rollup",
            "--region",
            "530000",
            "--year",
            "2020",
            "--by",
            "prefecture",
            "--chart",
            chart,
        ])
        .await
        .expect_success("rollup --chart");
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
