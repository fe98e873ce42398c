//! Every flag of the `portcullis` command line, defined once (help, completions and parsing all
//! come from here). The contract is `DESIGN.md` § CLI.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Portcullis: API security from the OpenAPI document, at every stage.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Static security audit of OpenAPI 2.0/3.0/3.1 documents (text, JSON, SARIF).
    Audit(AuditArgs),
    /// Dynamic security tests of a running API from its spec.
    Scan(ScanArgs),
    /// Run the gateway: the spec enforced as a positive security model.
    Serve(ConfigArgs),
    /// Validate a gateway config and its specs, and print what would run.
    Check(ConfigArgs),
    /// Write a starter gateway config (monitor mode) for one's own API from its spec.
    Init(InitArgs),
    /// Build an inventory from recorded traffic: shadow, zombie and unused endpoints.
    Discover(DiscoverArgs),
    /// Fetch the inventory of a running gateway (admin token from PORTCULLIS_ADMIN_TOKEN).
    Inventory(InventoryArgs),
    /// The gateway in front of a bundled, deliberately weak demo API, on 127.0.0.1.
    Demo(DemoArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Manage the gateway's API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Severity thresholds accepted by `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail on critical findings only.
    Critical,
    /// Fail on high or critical.
    High,
    /// Fail on medium or above.
    Medium,
    /// Fail on any finding but info.
    Low,
}

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// Human-readable, grouped by severity.
    Text,
    /// The JSON report of DESIGN.md.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// Rule profiles of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// What a security reviewer acts on first: every rule but the noisy schema-hygiene and
    /// documentation rules (`--list-rules` shows which).
    Recommended,
    /// Every rule.
    Strict,
}

/// `portcullis audit`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AuditArgs {
    /// Compare two versions of a spec instead.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// A rules file: disable rules or change their severity (applied over the profile).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Report only findings that are not in this JSON report (written earlier with
    /// `--format json`); `--fail-on` applies to the new findings only.
    #[arg(long, value_name = "REPORT.json")]
    pub baseline: Option<PathBuf>,
    /// Which rules run.
    #[arg(long, value_enum, default_value_t = ProfileArg::Recommended)]
    pub profile: ProfileArg,
    /// Text output: at most N places per rule, the rest counted (0: counts only). Default: 5
    /// when writing to a terminal, every place otherwise.
    #[arg(long, value_name = "N")]
    pub max_per_rule: Option<usize>,
    /// List every rule, with its profile, and exit.
    #[arg(long, conflicts_with_all = ["explain", "specs"])]
    pub list_rules: bool,
    /// Explain one rule (id like PC-AUTH-001) and exit.
    #[arg(long, value_name = "RULE", conflicts_with = "specs")]
    pub explain: Option<String>,
    /// Spec files or directories (searched for .yaml, .yml and .json documents).
    #[arg(value_name = "SPEC", required_unless_present_any = ["list_rules", "explain"])]
    pub specs: Vec<PathBuf>,
}

/// Subcommands of `audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// What a change did to the API's security: operations made public or added without
    /// security, weaker requirements, limits removed, response fields added, cleartext
    /// servers, and the findings that are new or fixed.
    Diff(DiffArgs),
}

/// Output formats of `audit diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Human-readable, grouped by severity and kind.
    Text,
    /// The diff report as JSON.
    Json,
    /// SARIF 2.1.0 (changes and new findings `new`, fixed findings `absent`).
    Sarif,
    /// Markdown, for a pull-request comment.
    Markdown,
}

/// `portcullis audit diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old version: a file, or a git revision of one (`main:openapi.yaml`, read with
    /// `git show` in the repository of the current directory).
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The new version: a file or `REV:path`.
    #[arg(value_name = "NEW")]
    pub new: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a change, or a new finding, at or above this severity is reported.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Which rules run for the new and fixed findings.
    #[arg(long, value_enum, default_value_t = ProfileArg::Recommended)]
    pub profile: ProfileArg,
    /// A rules file (applied over the profile).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Text output: at most N places per kind or rule (0: counts only). Default: 5 when
    /// writing to a terminal, every place otherwise.
    #[arg(long, value_name = "N")]
    pub max_per_rule: Option<usize>,
}

/// Output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Human-readable.
    Text,
    /// JSON report.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// A standalone HTML report.
    Html,
}

/// `portcullis scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Base URL of the running API.
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// The API's OpenAPI document.
    #[arg(long, value_name = "SPEC")]
    pub spec: PathBuf,
    /// Scan configuration (identities, budget, safety).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::High)]
    pub fail_on: FailOn,
}

/// `portcullis serve` and `portcullis check`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The gateway configuration file (YAML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
}

/// `portcullis init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The API's OpenAPI document (2.0, 3.0 or 3.1).
    #[arg(long, value_name = "SPEC")]
    pub spec: PathBuf,
    /// Where the API runs (http:// or https:// URL) that the gateway forwards to.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// The config file to write.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "portcullis.yaml"
    )]
    pub output: PathBuf,
    /// Overwrite the config file when it exists.
    #[arg(long)]
    pub force: bool,
    /// The gateway's address.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The admin API's (and dashboard's) address.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:9090")]
    pub admin_listen: std::net::SocketAddr,
}

/// Output formats of `discover` and `inventory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// The inventory as JSON.
    Json,
    /// An OpenAPI document of what is missing from the spec.
    Openapi,
}

/// `portcullis discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The documented API.
    #[arg(long, value_name = "SPEC")]
    pub spec: PathBuf,
    /// Recorded traffic: a Portcullis decision log, a HAR file, or an nginx/Apache combined
    /// access log (told apart by content).
    #[arg(long, value_name = "FILE")]
    pub log: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InventoryFormat::Json)]
    pub format: InventoryFormat,
}

/// `portcullis inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The admin API of a running gateway.
    #[arg(long, value_name = "URL")]
    pub admin: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InventoryFormat::Json)]
    pub format: InventoryFormat,
}

/// Output formats of `demo --attack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoFormat {
    /// A table.
    Text,
    /// A JSON array of rows.
    Json,
}

/// `portcullis demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The gateway's port (free ports are chosen when not given).
    #[arg(long)]
    pub port: Option<u16>,
    /// Replay scripted attacks and report direct vs protected, then exit.
    #[arg(long)]
    pub attack: bool,
    /// Output format of `--attack`.
    #[arg(long, value_enum, default_value_t = DemoFormat::Text, requires = "attack")]
    pub format: DemoFormat,
    /// Send a minute of mixed benign and hostile traffic through the gateway (to fill the
    /// dashboard), then keep serving.
    #[arg(long, conflicts_with = "attack")]
    pub traffic: bool,
}

/// `portcullis completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `portcullis keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key: prints it once, and the entry (its hash) to add to the key file.
    New(KeysNewArgs),
}

/// `portcullis keys new`.
#[derive(Debug, Args)]
pub struct KeysNewArgs {
    /// Key id (1 to 64 of A-Z a-z 0-9 -).
    #[arg(long)]
    pub id: String,
    /// Owner: the caller's identity (subject) when the key is used (default: the id).
    #[arg(long)]
    pub owner: Option<String>,
    /// Scopes granted, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Roles granted, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub expires: Option<String>,
}
