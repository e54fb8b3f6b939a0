/*
 * cmd_policy.h - the `s3warden validate` and `s3warden simulate` commands
 * (issue 3). main() dispatches here like a subcommand main(), argv[0] being
 * the subcommand name:
 *   s3w_cmd_validate_policies(argc - 1, argv + 1);   argv[0] == "validate"
 *   s3w_cmd_simulate(argc - 1, argv + 1);            argv[0] == "simulate"
 */
#ifndef S3W_CMD_POLICY_H
#define S3W_CMD_POLICY_H

/*
 * validate [--kind=resource|identity|boundary|session|guardrail]
 *          [--bucket=NAME] FILE...
 * Prints every problem as `FILE: <path>: <message>` (warnings end with
 * " (warning)") on stdout. Without --kind a document whose statements name a
 * Principal/NotPrincipal is checked as a bucket policy, otherwise as an
 * identity policy. Exit 0 when every file is valid (warnings allowed),
 * 1 when any file has an error or cannot be read, 2 on bad usage.
 */
int s3w_cmd_validate_policies(int argc, char **argv);

/*
 * simulate FILE.json   ("-" reads stdin); argc must be 2
 * Prints the simulate result JSON (policy.h, policy_simulate_json) on
 * stdout, exit 0. A bad input file: a one-line reason on stderr, exit 2.
 */
int s3w_cmd_simulate(int argc, char **argv);

#endif
