//! GetCase throughput at concurrency 1 and 64 against Health/Check, after an untimed warm-up until the rate is steady.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Rpc {
    GetCase { first: i64, count: i64 },
    Health,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Throughput {
    pub(crate) per_second: f64,
    pub(crate) latency: Latency,
    /// Calls made, warm-up included (for CPU per call).
    pub(crate) all_calls: usize,
}

/// Calls `rpc` from `concurrency` tasks spread over `channels` for `seconds` (after 0.5 s of
/// warm-up) and returns the calls completed per second.
pub(crate) async fn measure_rate(
    channels: &[Authed],
    rpc: Rpc,
    concurrency: usize,
    seconds: f64,
    seed: u64,
) -> Result<Throughput> {
    let start = Instant::now() + Duration::from_millis(500);
    let end = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let channel = channels[t % channels.len()].clone();
            tokio::spawn(async move {
                let mut cases = CaseServiceClient::new(channel.clone());
                let mut health = HealthClient::new(channel);
                let mut rng = Rng::new(seed, 1_000_000 + t as u64);
                let mut samples = Vec::new();
                let mut calls = 0usize;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let result = match rpc {
                        Rpc::GetCase { first, count } => cases
                            .get_case(pb::GetCaseRequest {
                                name: format!("cases/{}", first + rng.below(count as u64) as i64),
                            })
                            .await
                            .map(drop),
                        Rpc::Health => health
                            .check(HealthCheckRequest {
                                service: String::new(),
                            })
                            .await
                            .map(drop),
                    };
                    let done = Instant::now();
                    result.with_context(|| format!("{rpc:?}"))?;
                    calls += 1;
                    if done >= start && done < end {
                        samples.push(done - sent);
                    }
                }
                anyhow::Ok((samples, calls))
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut all_calls = 0;
    for task in tasks {
        let (samples, calls) = task.await??;
        all.extend(samples);
        all_calls += calls;
    }
    ensure!(!all.is_empty(), "no {rpc:?} call completed");
    Ok(Throughput {
        per_second: all.len() as f64 / seconds,
        latency: latency(all),
        all_calls,
    })
}

/// GetCase on random imported cases and Health/Check, at concurrency 1 and 64, with the CPU
/// each GetCase load used; and the first id, last id and count of the cases.
///
/// The timed loads come after untimed GetCase load at concurrency 64 until its rate is steady
/// (windows that fit in `--warmup` seconds; the rate of each window is returned too), so that
/// they measure a server that has been under that load, with the pages of the answers in the
/// page cache as a steady load keeps them, not the first touches of pages the machine evicted
/// while the rollups were timed. The first window's rate is that cold start. On the
/// machine of docs/benchmarks.md the kernel pages out file pages that go unread for 60 s
/// (DAMON reclaim), so after the minutes of GROUP BY before this step most of the answers of
/// a 10M database are read from disk at first; under a steady load they stay in memory.
pub(crate) async fn time_gets(
    url: &str,
    token: &str,
    server_db: &str,
    server_pid: u32,
    ticks: f64,
    args: &Args,
) -> Result<(Vec<i64>, Vec<GetRates>, Vec<f64>, AccessCost)> {
    let ids = psql(
        &db_url(server_db),
        "SELECT min(id) || ' ' || max(id) || ' ' || count(*) FROM cases",
    )?;
    let ids: Vec<i64> = ids
        .split(' ')
        .map(|v| v.parse().context("case ids"))
        .collect::<Result<_>>()?;
    ensure!(
        ids.len() == 3 && ids[2] == ids[1] - ids[0] + 1,
        "case ids are not contiguous: {ids:?}"
    );
    let get_case = Rpc::GetCase {
        first: ids[0],
        count: ids[2],
    };
    let mut channels = Vec::new();
    for _ in 0..args.channels {
        channels.push(connect(url, token).await?);
    }
    // Warm-up: windows of `--seconds` each (their own seeds, so other draws than the timed
    // loads'; the pages they warm are shared all the same), until a window is less than 3%
    // faster than the one before or the next would not fit in `--warmup` seconds.
    let mut warmup = Vec::new();
    let started = Instant::now();
    while started.elapsed().as_secs_f64() + args.seconds <= args.warmup {
        if warmup.is_empty() {
            eprintln!("GetCase untimed at concurrency 64 until its rate is steady (warm-up)");
        }
        let seed = args.seed ^ (1 + warmup.len() as u64);
        let rate = measure_rate(&channels, get_case, 64, args.seconds, seed)
            .await?
            .per_second;
        eprintln!("  {} calls/s", thousands(rate));
        let steady = warmup.last().is_some_and(|last| rate < last * 1.03);
        warmup.push(rate);
        if steady {
            break;
        }
    }
    let mut rates = Vec::new();
    for concurrency in [1usize, 64] {
        eprintln!("timing GetCase and Health/Check at concurrency {concurrency}");
        let used = &channels[..concurrency.min(channels.len())];
        let before = cpu_snapshot(server_pid, server_db, ticks);
        let get = measure_rate(used, get_case, concurrency, args.seconds, args.seed).await?;
        let get_cpu = cpu_used(&before, &cpu_snapshot(server_pid, server_db, ticks));
        let before = cpu_snapshot(server_pid, server_db, ticks);
        let health = measure_rate(used, Rpc::Health, concurrency, args.seconds, args.seed).await?;
        let health_cpu = cpu_used(&before, &cpu_snapshot(server_pid, server_db, ticks));
        eprintln!(
            "  CPU per Health/Check call: server {:.0} µs, client {:.0} µs, machine {:.0} µs",
            health_cpu.1 * 1e6 / health.all_calls as f64,
            health_cpu.0 * 1e6 / health.all_calls as f64,
            health_cpu.3 * 1e6 / health.all_calls as f64,
        );
        eprintln!(
            "  GetCase {} calls/s, Health/Check {} calls/s: {:.2}; CPU per GetCase call: \
             server {:.0} µs, backends {:.0} µs, client {:.0} µs, machine {:.0} µs",
            thousands(get.per_second),
            thousands(health.per_second),
            get.per_second / health.per_second,
            get_cpu.1 * 1e6 / get.all_calls as f64,
            get_cpu.2 * 1e6 / get.all_calls as f64,
            get_cpu.0 * 1e6 / get.all_calls as f64,
            get_cpu.3 * 1e6 / get.all_calls as f64,
        );
        rates.push((concurrency, get, health, get_cpu));
    }
    eprintln!("timing GetCase at concurrency 64 with and without access checks");
    let access = access_cost(&db_url(server_db), token, get_case, args).await?;
    Ok((ids, rates, warmup, access))
}

/// The GetCase and Health/Check table of a report, with the CPU per call.
pub(crate) fn gets_report(
    rates: &[GetRates],
    ids: &[i64],
    warmup: &[f64],
    access: &AccessCost,
    args: &Args,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n| concurrency | GetCase calls/s | p50 | p99 | Health/Check calls/s | p50 | p99 | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (concurrency, get, health, _) in rates {
        let _ = writeln!(
            out,
            "| {concurrency} | {} | {:.2} ms | {:.2} ms | {} | {:.2} ms | {:.2} ms | {:.2} |",
            thousands(get.per_second),
            ms(get.latency.p50),
            ms(get.latency.p99),
            thousands(health.per_second),
            ms(health.latency.p50),
            ms(health.latency.p99),
            get.per_second / health.per_second
        );
    }
    for (concurrency, get, _, cpu) in rates {
        let per_call = |seconds: f64| seconds * 1e6 / get.all_calls as f64;
        let _ = writeln!(
            out,
            "\nCPU per GetCase call at concurrency {concurrency}: procura-server {:.0} µs, its \
             PostgreSQL backends {:.0} µs, this client {:.0} µs; the whole machine {:.0} µs.",
            per_call(cpu.1),
            per_call(cpu.2),
            per_call(cpu.0),
            per_call(cpu.3)
        );
    }
    let _ = writeln!(
        out,
        "\n{} s per figure over {} HTTP/2 connections (1 at concurrency 1), random cases of \
         the {} imported.",
        args.seconds,
        args.channels,
        thousands(ids[2] as f64)
    );
    let rates_of = |rates: &[f64]| {
        rates
            .iter()
            .map(|r| thousands(*r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "\nWhat access checks cost GetCase at concurrency 64: two servers of the benchmark's own \
         process on the same database, one authenticating every call's token (and checking its \
         region) and one without access checks, {} rounds of {} s each, alternating A B, B A: \
         with checks {} calls/s, without {} calls/s; ratio of the means **{:.2}** (target ≥ 0.9).",
        super::auth::ACCESS_ROUNDS,
        args.seconds / 2.0,
        rates_of(&access.checked),
        rates_of(&access.unchecked),
        access.ratio()
    );
    if !warmup.is_empty() {
        let _ = writeln!(
            out,
            "\nBefore them, GetCase ran untimed at concurrency 64, {} s at a time, until a window \
             was less than 3% faster than the one before (at most {} s; warm-up), so the timed \
             loads ran with the answers' pages in the page cache as a steady load keeps them; \
             the first window is the cold start: {} calls/s.",
            args.seconds,
            args.warmup,
            warmup
                .iter()
                .map(|rate| thousands(*rate))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// Concurrency, GetCase, Health/Check, and the CPU the GetCase load used.
pub(crate) type GetRates = (usize, Throughput, Throughput, (f64, f64, f64, f64));

// ---------------------------------------------------------------------------------------------
