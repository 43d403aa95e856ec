/** The text of `--help`: what a user needs to start, and where to read the rest. */
export const USAGE = `Usage: node dist/main.js [options]

Imports Anomali ThreatStream indicators into OpenCTI, or into files with --dry-run.

Options:
  --dry-run        One run that writes STIX bundles to files instead of OpenCTI
                   (CONNECTOR_DRY_RUN=true); needs only the ThreatStream settings.
  --out DIR        Directory of the dry run's bundles (CONNECTOR_DRY_RUN_OUT).
  --state FILE     The dry run's cursor file (CONNECTOR_DRY_RUN_STATE).
  -h, --help       Print this help and exit.
  -v, --version    Print the connector's version and exit.

Configuration: config.yml in the working directory (or the file CONNECTOR_CONFIG_FILE
names; start from config.yml.sample), and environment variables, which win over it.
The YAML key section.key is the variable SECTION_KEY. The main ones:
  ANOMALI_USERNAME, ANOMALI_API_KEY   ThreatStream credentials (always required)
  ANOMALI_URL                         ThreatStream API (default https://api.threatstream.com)
  OPENCTI_URL, OPENCTI_TOKEN          The OpenCTI platform (not for a dry run)
  CONNECTOR_ID                        A UUIDv4: node -p "crypto.randomUUID()"
  CONNECTOR_DURATION_PERIOD           Pause between runs: seconds or ISO-8601 (PT1H)
  CONNECTOR_LOG_LEVEL                 debug, info, warning or error

Every setting, deployment, monitoring and troubleshooting: README.md at the root of
the connector's source tree.
`;
