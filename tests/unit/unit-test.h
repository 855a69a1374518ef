/* SPDX-License-Identifier: MIT */
/*
 * The runner every CUnit program in tests/unit shares: one suite of tests,
 * verbose output, and the exit status meson reads (0 passed, 1 failed).
 */
#ifndef GB_UNIT_TEST_H
#define GB_UNIT_TEST_H

#include <stddef.h>

#include <CUnit/Basic.h>

struct gb_unit_test {
	const char *name;
	CU_TestFunc function;
};

/* An entry of the test table, named after its function. */
#define GB_UNIT_TEST(function)                                                                    \
	{                                                                                         \
#function, function                                                               \
	}

/**
 * Run @tests (@count of them) as the suite @suite_name, with @init and
 * @cleanup around it (either may be NULL). 0 when every test passed; 1 when
 * one failed, the suite's init or cleanup failed, or CUnit itself did.
 */
static inline int gb_unit_run(const char *suite_name, CU_InitializeFunc init,
                              CU_CleanupFunc cleanup, const struct gb_unit_test *tests,
                              size_t count)
{
	const CU_RunSummary *summary;
	CU_pSuite suite;
	int status;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, init, cleanup);
	for (size_t i = 0; suite && i < count; i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].function))
			suite = NULL;
	if (!suite) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	summary = CU_get_run_summary();
	status = CU_get_error() == CUE_SUCCESS && summary->nFailureRecords == 0 &&
	                         summary->nSuitesFailed == 0
	                 ? 0
	                 : 1;
	CU_cleanup_registry();
	return status;
}

#define GB_UNIT_RUN(suite_name, init, cleanup, tests)                                             \
	gb_unit_run(suite_name, init, cleanup, tests, sizeof(tests) / sizeof((tests)[0]))

#endif /* GB_UNIT_TEST_H */
