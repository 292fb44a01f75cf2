/* shell_suites.h - the Check suites of the shell's pure parts (tests/shell/). */
#ifndef SHELL_SUITES_H
#define SHELL_SUITES_H

#include <check.h>

Suite *shell_config_suite(void);
Suite *shell_merge_suite(void);
Suite *shell_statements_suite(void);

#endif
