//! Credentials for the benchmark's calls, and what access checks cost GetCase: the same
//! server code with and without them, side by side.

use tonic::service::interceptor::InterceptedService;

use super::*;

/// A channel whose calls carry the bootstrap admin's token: the CLI's own transport.
pub(crate) type Authed = procura_client::commands::Transport;

/// A connection to `url` whose calls carry `token`, as the CLI's `--token` sends it.
pub(crate) async fn connect(url: &str, token: &str) -> Result<Authed> {
    let channel = Endpoint::from_shared(url.to_owned())?.connect().await?;
    let token = procura_client::credentials::Token {
        secret: procura_client::credentials::Secret::new(token),
        source: procura_client::credentials::TokenSource::Flag,
    };
    let bearer = procura_client::connection::Authorization::new(Some(&token))?;
    Ok(InterceptedService::new(channel, bearer))
}

/// The token in a credentials file (`token = …`), as the server writes it on first start.
pub(crate) fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the credentials file {}", path.display()))?;
    match procura_client::credentials::parse_credentials(&text) {
        Ok(Some(secret)) => Ok(secret.expose().to_owned()),
        Ok(None) => Err(anyhow!("no token line in {}", path.display())),
        Err((line, problem)) => Err(anyhow!("{}:{line}: {problem}", path.display())),
    }
}

/// GetCase at concurrency 64 through the same server code with and without access checks.
pub(crate) struct AccessCost {
    /// Calls per second with a token, each window.
    pub(crate) checked: Vec<f64>,
    /// Calls per second without access checks, each window.
    pub(crate) unchecked: Vec<f64>,
}

impl AccessCost {
    /// Mean rate with checks over mean rate without (equal windows, so calls over calls).
    pub(crate) fn ratio(&self) -> f64 {
        let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len().max(1) as f64;
        mean(&self.checked) / mean(&self.unchecked)
    }
}

/// Rounds of the access-cost timing: each times both servers, in the order A B, then B A, and
/// so on, so that a drift of the machine's speed falls on both alike.
pub(crate) const ACCESS_ROUNDS: u64 = 8;

/// Starts the server code in this process on `database_url`, with or without access checks.
async fn in_process(
    database_url: &str,
    checks: bool,
) -> Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let mut settings = procura_server::config::Settings::new("127.0.0.1:0".parse()?, database_url);
    settings.pool_max_size = 8;
    settings.access_checks = checks;
    let app = procura_server::startup::Application::build(settings).await?;
    let url = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Ok((url, stop))
}

/// Times GetCase at concurrency 64 against two servers of this process on the server's
/// database, one checking access (calls with a token) and one not, in [`ACCESS_ROUNDS`]
/// rounds of half `--seconds` each (A B, B A, …).
pub(crate) async fn access_cost(
    database_url: &str,
    token: &str,
    get_case: Rpc,
    args: &Args,
) -> Result<AccessCost> {
    let (checked_url, stop_checked) = in_process(database_url, true).await?;
    let (unchecked_url, stop_unchecked) = in_process(database_url, false).await?;
    let mut channels = Vec::new();
    for url in [&checked_url, &unchecked_url] {
        let mut these = Vec::new();
        for _ in 0..args.channels {
            these.push(connect(url, token).await?);
        }
        channels.push(these);
    }
    let mut cost = AccessCost {
        checked: Vec::new(),
        unchecked: Vec::new(),
    };
    for round in 0..ACCESS_ROUNDS {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let rate = measure_rate(
                &channels[i],
                get_case,
                64,
                args.seconds / 2.0,
                args.seed ^ round,
            )
            .await?
            .per_second;
            if i == 0 {
                cost.checked.push(rate);
            } else {
                cost.unchecked.push(rate);
            }
        }
    }
    eprintln!(
        "  GetCase at concurrency 64 in this process: with access checks {:?} calls/s, without {:?}: {:.2}",
        cost.checked
            .iter()
            .map(|r| thousands(*r))
            .collect::<Vec<_>>(),
        cost.unchecked
            .iter()
            .map(|r| thousands(*r))
            .collect::<Vec<_>>(),
        cost.ratio()
    );
    let _ = stop_checked.send(());
    let _ = stop_unchecked.send(());
    Ok(cost)
}
