//! The bearer token the CLI sends (`authorization: Bearer <token>`), and where it comes from:
//! `--token`, else `PROCURA_TOKEN`, else the credentials file (`--credentials-file`,
//! `PROCURA_CREDENTIALS_FILE`, default `$HOME/.config/procura/credentials`).
//!
//! The credentials file is the one `procura-server` writes on first start: lines, `#` starting a
//! comment, and a line `token = <secret>` giving the token (spaces around `=` optional). Other
//! `key = value` lines are left alone. The file must be readable by its owner only (mode 600):
//! one readable by group or others is refused.
//!
//! A token is never printed: [`Secret`] has no `Display`, its `Debug` shows `Secret(***)`, and
//! no error here quotes it.

use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that gives a token when `--token` does not.
pub const TOKEN_ENV: &str = "PROCURA_TOKEN";

/// The environment variable that names the credentials file.
pub const CREDENTIALS_FILE_ENV: &str = "PROCURA_CREDENTIALS_FILE";

/// A secret (a bearer token) that is never shown: no `Display`, and a `Debug` that hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the token that is sent came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--token`.
    Flag,
    /// The `PROCURA_TOKEN` environment variable.
    Env,
    /// The credentials file at this path.
    File(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("--token"),
            Self::Env => f.write_str(TOKEN_ENV),
            Self::File(path) => write!(f, "the credentials file {}", path.display()),
        }
    }
}

/// A token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The secret sent as `authorization: Bearer <secret>`.
    pub secret: Secret,
    /// Where it came from.
    pub source: TokenSource,
}

/// Why no token could be had. None of these quotes the token.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The credentials file exists but group or others may read it.
    #[error(
        "the credentials file {path} can be read by others (mode {mode:03o}); it holds a secret: \
         run `chmod 600 {path}` (the file is not used until then)",
        path = .path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The credentials file exists but cannot be read.
    #[error("cannot read the credentials file {path}: {source}", path = .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The credentials file is not in the expected format.
    #[error("the credentials file {path}, line {line}: {problem}", path = .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The credentials file has no `token = ...` line.
    #[error(
        "the credentials file {path} has no `token = <secret>` line",
        path = .path.display()
    )]
    NoToken {
        /// The file.
        path: PathBuf,
    },
    /// A token that cannot travel in a header (spaces, control or non-ASCII characters).
    #[error(
        "the token from {from} is not a valid token: it may hold only visible ASCII \
         characters, without spaces"
    )]
    Invalid {
        /// Where it came from.
        from: TokenSource,
    },
    /// `--token` was given empty.
    #[error("--token is empty")]
    EmptyFlag,
}

/// The default credentials file, `$HOME/.config/procura/credentials`; none without `HOME`.
pub fn default_credentials_file() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".config/procura/credentials"))
}

/// What a credentials file says: the token of its `token = <secret>` line, or `None` when it
/// has none. Returns `(line, problem)` for a line that is neither blank, a comment nor
/// `key = value`, or a second token line.
pub fn parse_credentials(text: &str) -> Result<Option<Secret>, (usize, String)> {
    let mut token: Option<Secret> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let Some((key, value)) = line.split_once('=') else {
            return Err((
                number,
                "expected `key = value`, e.g. `token = <secret>`".into(),
            ));
        };
        if key.trim() != "token" {
            continue;
        }
        let value = value.trim();
        if value.is_empty() {
            return Err((number, "the token line gives no token".into()));
        }
        if token.is_some() {
            return Err((number, "a second token line (give one token only)".into()));
        }
        token = Some(Secret::new(value));
    }
    Ok(token)
}

/// A line without its comment: `#` at the start of the line or after a blank starts one (so
/// that a `#` inside a value is kept).
fn strip_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (i, c) in line.char_indices() {
        if c == '#' && previous_blank {
            return &line[..i];
        }
        previous_blank = c.is_whitespace();
    }
    line
}

/// Refuses a credentials file that group or others may read (Unix permission bits).
#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &std::fs::Metadata) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &std::fs::Metadata) -> Result<(), CredentialsError> {
    Ok(())
}

/// The token of the credentials file at `path`: `None` when there is no such file; an error
/// when it is open to others, unreadable, malformed or without a token line.
pub fn read_credentials_file(path: &Path) -> Result<Option<Secret>, CredentialsError> {
    let unreadable = |source| CredentialsError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(unreadable(error)),
    };
    check_permissions(path, &metadata)?;
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    match parse_credentials(&text) {
        Ok(Some(secret)) => Ok(Some(secret)),
        Ok(None) => Err(CredentialsError::NoToken {
            path: path.to_owned(),
        }),
        Err((line, problem)) => Err(CredentialsError::Malformed {
            path: path.to_owned(),
            line,
            problem,
        }),
    }
}

/// Where a token may come from, as given on the command line and in the environment.
#[derive(Debug, Clone, Default)]
pub struct TokenInputs {
    /// `--token`.
    pub flag: Option<Secret>,
    /// `PROCURA_TOKEN` (empty counts as unset).
    pub env: Option<Secret>,
    /// The credentials file to read when neither gives one (none: no file is read).
    pub file: Option<PathBuf>,
}

impl TokenInputs {
    /// `--token` and `--credentials-file` as parsed, `PROCURA_TOKEN` from the environment, and
    /// the default credentials file when no file is named.
    pub fn from_environment(flag: Option<Secret>, file: Option<PathBuf>) -> Self {
        Self {
            flag,
            env: std::env::var(TOKEN_ENV).ok().map(Secret::new),
            file: file.or_else(default_credentials_file),
        }
    }

    /// The token to send: `--token`, else `PROCURA_TOKEN`, else the credentials file's; `None`
    /// when none gives one (then no authorization header is sent). The file is read only when
    /// it is needed.
    pub fn resolve(&self) -> Result<Option<Token>, CredentialsError> {
        let checked = |secret: &Secret, source: TokenSource| {
            if valid_token(secret.expose()) {
                Ok(Some(Token {
                    secret: secret.clone(),
                    source,
                }))
            } else {
                Err(CredentialsError::Invalid { from: source })
            }
        };
        if let Some(flag) = &self.flag {
            if flag.expose().trim().is_empty() {
                return Err(CredentialsError::EmptyFlag);
            }
            return checked(&Secret::new(flag.expose().trim()), TokenSource::Flag);
        }
        if let Some(env) = self.env.as_ref().filter(|e| !e.expose().trim().is_empty()) {
            return checked(&Secret::new(env.expose().trim()), TokenSource::Env);
        }
        let Some(path) = &self.file else {
            return Ok(None);
        };
        match read_credentials_file(path)? {
            Some(secret) => checked(&secret, TokenSource::File(path.clone())),
            None => Ok(None),
        }
    }
}

/// True for a token that can be sent in a header: visible ASCII, no spaces.
fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A fresh temporary directory.
    fn temp_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("procura-credentials-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes a credentials file with these permission bits.
    fn write_file(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("credentials");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    fn parsed(text: &str) -> Option<String> {
        parse_credentials(text)
            .unwrap()
            .map(|s| s.expose().to_owned())
    }

    #[test]
    fn the_token_line_is_found_among_comments_and_other_keys() {
        let text = "# written by procura-server on first start\n\
                    \n\
                    server = https://procura.example:50051\n\
                    token = pct_abc123  # the bootstrap token\n\
                    # token = old\n";
        assert_eq!(parsed(text).as_deref(), Some("pct_abc123"));
    }

    #[test]
    fn spaces_around_the_equals_sign_are_optional() {
        assert_eq!(parsed("token=abc").as_deref(), Some("abc"));
        assert_eq!(parsed("  token   =\tabc  \r\n").as_deref(), Some("abc"));
        assert_eq!(
            parsed("token= a#b").as_deref(),
            Some("a#b"),
            "# inside a value"
        );
    }

    #[test]
    fn a_file_without_a_token_line_gives_none_or_an_error() {
        assert_eq!(parsed("# nothing here\n\nserver = x\n"), None);
        assert_eq!(parsed(""), None);
        let (line, problem) = parse_credentials("# c\njust a line\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(problem.contains("key = value"), "{problem}");
        assert_eq!(parse_credentials("token =\n").unwrap_err().0, 1);
        assert_eq!(
            parse_credentials("token = a\ntoken = b\n").unwrap_err().0,
            2
        );

        let dir = temp_dir();
        let path = write_file(&dir, "# no token\n", 0o600);
        let error = read_credentials_file(&path).unwrap_err().to_string();
        assert!(error.contains("has no `token = <secret>` line"), "{error}");
        assert!(error.contains(&path.display().to_string()), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_file_gives_no_token() {
        let dir = temp_dir();
        assert!(
            read_credentials_file(&dir.join("absent"))
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_file_readable_by_others_is_refused() {
        let dir = temp_dir();
        let path = write_file(&dir, "token = s3cr3t-open\n", 0o644);
        let error = read_credentials_file(&path).unwrap_err();
        assert!(matches!(
            error,
            CredentialsError::TooOpen { mode: 0o644, .. }
        ));
        let text = error.to_string();
        assert!(
            text.contains(&format!("chmod 600 {}", path.display())),
            "{text}"
        );
        assert!(!text.contains("s3cr3t-open"), "{text}");
        let group = write_file(&dir, "token = s3cr3t-open\n", 0o640);
        assert!(read_credentials_file(&group).is_err());

        let path = write_file(&dir, "token = s3cr3t-closed\n", 0o600);
        assert_eq!(
            read_credentials_file(&path).unwrap().unwrap().expose(),
            "s3cr3t-closed"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_flag_wins_over_the_environment_which_wins_over_the_file() {
        let dir = temp_dir();
        let path = write_file(&dir, "token = from-file\n", 0o600);
        let inputs = |flag: Option<&str>, env: Option<&str>| TokenInputs {
            flag: flag.map(Secret::new),
            env: env.map(Secret::new),
            file: Some(path.clone()),
        };
        let token = inputs(Some("from-flag"), Some("from-env"))
            .resolve()
            .unwrap()
            .unwrap();
        assert_eq!(
            (token.secret.expose(), token.source),
            ("from-flag", TokenSource::Flag)
        );
        let token = inputs(None, Some("from-env")).resolve().unwrap().unwrap();
        assert_eq!(
            (token.secret.expose(), token.source),
            ("from-env", TokenSource::Env)
        );
        let token = inputs(None, Some("")).resolve().unwrap().unwrap();
        assert_eq!(
            (token.secret.expose(), token.source),
            ("from-file", TokenSource::File(path.clone()))
        );
        let none = TokenInputs {
            file: Some(dir.join("absent")),
            ..TokenInputs::default()
        };
        assert!(none.resolve().unwrap().is_none());
        assert!(TokenInputs::default().resolve().unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_not_read_when_a_token_is_given() {
        let dir = temp_dir();
        let path = write_file(&dir, "token = from-file\n", 0o644);
        let inputs = TokenInputs {
            flag: None,
            env: Some(Secret::new("from-env")),
            file: Some(path),
        };
        assert_eq!(inputs.resolve().unwrap().unwrap().source, TokenSource::Env);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_token_never_appears_in_errors_or_debug_output() {
        let secret = "bad token\u{7f}with-secret-part";
        for inputs in [
            TokenInputs {
                flag: Some(Secret::new(secret)),
                ..TokenInputs::default()
            },
            TokenInputs {
                env: Some(Secret::new(secret)),
                ..TokenInputs::default()
            },
        ] {
            let error = inputs.resolve().unwrap_err();
            for text in [
                error.to_string(),
                format!("{error:?}"),
                format!("{inputs:?}"),
            ] {
                assert!(!text.contains("secret-part"), "{text}");
            }
        }
        let dir = temp_dir();
        let path = write_file(&dir, &format!("token = {secret}\n"), 0o600);
        let error = TokenInputs {
            file: Some(path),
            ..TokenInputs::default()
        }
        .resolve()
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("is not a valid token"), "{text}");
        assert!(!text.contains("secret-part"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();

        let token = Token {
            secret: Secret::new("pct_visible-secret"),
            source: TokenSource::Flag,
        };
        assert!(!format!("{token:?}").contains("visible-secret"));
    }
}
