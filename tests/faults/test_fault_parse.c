/* fl-test-labels: memcheck */
/*
 * test_fault_parse.c - the plan language: every production, every error.
 *
 * White-box: reads the parsed spec through faults' private header, as
 * HdrHistogram's tests use hdr_tests.h.
 */
#include "fl_test.h"

#include "fault_internal.h"

FL_ERR_SENTINEL(test_etimeout, "operation timed out");

/* Parses text, which must be valid, into *s. */
static void parse_ok(const char *text, fl__fault_spec *s)
{
	fl_err *e = fl__fault_parse(text, s);
	if (e) {
		char buf[512];
		fl_err_format(e, buf, sizeof(buf));
		FL_FAIL("parse '%s': %s", text, buf);
	}
}

/* The single term of a one-rule, one-term plan. */
static fl__fault_term one_term(const char *text, fl__fault_spec *s)
{
	parse_ok(text, s);
	ASSERT_EQ(s->nrules, 1);
	ASSERT_EQ(s->rules[0].nterms, 1);
	return s->rules[0].terms[0];
}

FL_TEST(fail9_terms)
{
	fl__fault_spec s;
	parse_ok("enrich=50%3*error(inval)->panic(boom)->off", &s);
	ASSERT_EQ(s.nrules, 1);
	ASSERT_STR_EQ(s.rules[0].pattern, "enrich");
	ASSERT_EQ(s.rules[0].nterms, 3);
	fl__fault_term *t = s.rules[0].terms;
	ASSERT_EQ(t[0].action, FL_FAULT_ACT_ERROR);
	ASSERT(t[0].err == FL_ERR_INVAL);
	ASSERT_EQ(t[0].mods, FL__FAULT_M_PCT | FL__FAULT_M_CNT);
	ASSERT_EQ(t[0].cnt, 3);
	ASSERT_U64_EQ(t[0].pct_threshold, 1ULL << 63);
	ASSERT_EQ(t[1].action, FL_FAULT_ACT_PANIC);
	ASSERT_STR_EQ(t[1].text, "boom");
	ASSERT_EQ(t[2].action, FL_FAULT_ACT_OFF);
	ASSERT(!s.has_seed);
	fl__fault_spec_destroy(&s);
}

FL_TEST(items_and_seed)
{
	fl__fault_spec s;
	parse_ok("  a=off ;; b/c=yield\n seed=0x2A;\n tenant/*/enrich=print(hi there) ;", &s);
	ASSERT_EQ(s.nrules, 3);
	ASSERT_STR_EQ(s.rules[1].pattern, "b/c");
	ASSERT_STR_EQ(s.rules[2].pattern, "tenant/*/enrich");
	ASSERT_STR_EQ(s.rules[2].terms[0].text, "hi there");
	ASSERT(s.has_seed);
	ASSERT_U64_EQ(s.seed, 42);
	fl__fault_spec_destroy(&s);
	parse_ok("seed = 7", &s);
	ASSERT_EQ(s.nrules, 0);
	ASSERT_U64_EQ(s.seed, 7);
	fl__fault_spec_destroy(&s);
	parse_ok("", &s);
	ASSERT_EQ(s.nrules, 0);
	fl__fault_spec_destroy(&s);
}

FL_TEST(extension_modifiers)
{
	fl__fault_spec s;
	fl__fault_term t = one_term("enrich=@3..5 error(closed)", &s);
	ASSERT_EQ(t.mods, FL__FAULT_M_AT);
	ASSERT_EQ(t.at_lo, 3);
	ASSERT_EQ(t.at_hi, 5);
	ASSERT(t.err == FL_ERR_CLOSED);
	fl__fault_spec_destroy(&s);
	t = one_term("enrich=@7 drop", &s);
	ASSERT_EQ(t.at_lo, 7);
	ASSERT_EQ(t.at_hi, 7);
	fl__fault_spec_destroy(&s);
	t = one_term("enrich=every(10) sleep(5ms)", &s);
	ASSERT_EQ(t.every, 10);
	ASSERT_EQ(t.dist.kind, FL__FAULT_FIXED);
	ASSERT_EQ(t.dist.a_ns, FL_MS(5));
	fl__fault_spec_destroy(&s);
	t = one_term("enrich=after(2s) until(5s) 1% panic(boom)", &s);
	ASSERT_EQ(t.mods, FL__FAULT_M_AFTER | FL__FAULT_M_UNTIL | FL__FAULT_M_PCT);
	ASSERT_EQ(t.after_ns, FL_SEC(2));
	ASSERT_EQ(t.until_ns, FL_SEC(5));
	ASSERT_U64_EQ(t.pct_threshold, (uint64_t)(0.01 * 18446744073709551616.0));
	fl__fault_spec_destroy(&s);
	t = one_term("enrich=items(500..500) error(nomem)", &s);
	ASSERT_EQ(t.item_lo, 500);
	ASSERT_EQ(t.item_hi, 500);
	fl__fault_spec_destroy(&s);
	t = one_term("fetch=peritem @1..2 error(again)", &s);
	ASSERT_EQ(t.mods, FL__FAULT_M_PERITEM | FL__FAULT_M_AT);
	ASSERT(s.rules[0].peritem);
	fl__fault_spec_destroy(&s);
	t = one_term("x=items(4) 100% 2* hang", &s);
	ASSERT_EQ(t.item_lo, 4);
	ASSERT_EQ(t.item_hi, 4);
	ASSERT(t.pct_always);
	ASSERT_EQ(t.cnt, 2);
	fl__fault_spec_destroy(&s);
}

FL_TEST(durations_and_distributions)
{
	fl__fault_spec s;
	static const struct {
		const char *text;
		int64_t ns;
	} durs[] = {{"d=delay(7ns)", 7},
		    {"d=delay(3us)", 3000},
		    {"d=delay(1.5ms)", 1500000},
		    {"d=delay(2s)", FL_SEC(2)},
		    {"d=delay(1m)", FL_SEC(60)},
		    {"d=delay(0ns)", 0},
		    {"d=stuck( 250ms )", FL_MS(250)},
		    {"d=stuck(2h)", FL_SEC(7200)}};
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		fl__fault_term t = one_term(durs[i].text, &s);
		ASSERT_EQ(t.dist.a_ns, durs[i].ns);
		fl__fault_spec_destroy(&s);
	}
	fl__fault_term t = one_term("s=sleep(uniform(1ms, 3ms) ~ 100us)", &s);
	ASSERT_EQ(t.dist.kind, FL__FAULT_UNIFORM);
	ASSERT_EQ(t.dist.a_ns, FL_MS(1));
	ASSERT_EQ(t.dist.b_ns, FL_MS(3));
	ASSERT_EQ(t.dist.jitter_ns, FL_US(100));
	fl__fault_spec_destroy(&s);
	t = one_term("s=sleep(exp(2ms))", &s);
	ASSERT_EQ(t.dist.kind, FL__FAULT_EXP);
	fl__fault_spec_destroy(&s);
	t = one_term("s=sleep(lognormal(2ms,0.5))", &s);
	ASSERT_EQ(t.dist.kind, FL__FAULT_LOGNORMAL);
	ASSERT_DBL_NEAR(t.dist.shape, 0.5, 1e-12);
	fl__fault_spec_destroy(&s);
	t = one_term("s=sleep(pareto(1ms,1.5))", &s);
	ASSERT_EQ(t.dist.kind, FL__FAULT_PARETO);
	fl__fault_spec_destroy(&s);
	t = one_term("s=slow(2.5)", &s);
	ASSERT_DBL_NEAR(t.factor, 2.5, 1e-12);
	fl__fault_spec_destroy(&s);
}

FL_TEST(every_action)
{
	static const char *const names[] = {"off",        "error(inval)", "panic",
					    "sleep(1ms)", "delay(1us)",   "hang",
					    "stuck(1ms)", "slow(2)",      "drop",
					    "dup",        "oom",          "yield",
					    "print"};
	for (int a = 0; a < FL_FAULT_NACTIONS; a++) {
		char text[64];
		snprintf(text, sizeof(text), "p=%s", names[a]);
		fl__fault_spec s;
		fl__fault_term t = one_term(text, &s);
		ASSERT_EQ(t.action, a);
		const char *name = fl_fault_action_name((enum fl_fault_action)a);
		ASSERT_EQ(strncmp(names[a], name, strlen(name)), 0);
		fl__fault_spec_destroy(&s);
	}
}

FL_TEST(user_error_names)
{
	fl__fault_spec s;
	fl_err *e = fl__fault_parse("p=error(ETIMEOUT)", &s);
	ASSERT_NOT_NULL(e);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	ASSERT_NULL(fl_fault_register_error("ETIMEOUT", test_etimeout));
	ASSERT_NULL(fl_fault_register_error("ETIMEOUT", test_etimeout)); /* same pair: ok */
	e = fl_fault_register_error("ETIMEOUT", FL_ERR_CLOSED);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	e = fl_fault_register_error("inval", test_etimeout);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	e = fl_fault_register_error("9bad", test_etimeout);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl__fault_term t = one_term("p=error(ETIMEOUT)", &s);
	ASSERT(t.err == test_etimeout);
	ASSERT_STR_EQ(t.text, "ETIMEOUT");
	fl__fault_spec_destroy(&s);
}

/* Expected parse errors: the text and the exact message. */
static const struct {
	const char *text;
	const char *msg;
} BAD[] = {
	{"enrich=50%%x(",
	 "plan:1:11: in term 'enrich=50%%x(': expected action name (error, "
	 "panic, sleep, delay, hang, stuck, slow, drop, dup, oom, yield, print, off)"},
	{"enrich", "plan:1:7: in term 'enrich': expected '='"},
	{"=off", "plan:1:1: in term '=off': expected point name or 'seed'"},
	{"enrich=", "plan:1:8: in term 'enrich=': expected action name (error, panic, sleep, "
		    "delay, hang, stuck, slow, drop, dup, oom, yield, print, off)"},
	{"enrich=explode", "plan:1:8: in term 'enrich=explode': expected action name (error, "
			   "panic, sleep, delay, hang, stuck, slow, drop, dup, oom, yield, print, "
			   "off)"},
	{"a=off;\n  b=error(EBOGUS)",
	 "plan:2:11: in term 'b=error(EBOGUS)': unknown error name 'EBOGUS' (expected canceled, "
	 "deadline, nomem, closed, limit, inval, again, misuse, panic, system, or a name "
	 "registered before arming with fl_fault_register_error(\"EBOGUS\", sentinel))"},
	{"p=error()", "plan:1:9: in term 'p=error()': expected error name"},
	{"p=error(inval", "plan:1:14: in term 'p=error(inval': expected ')'"},
	{"p=@0 off", "plan:1:4: in term 'p=@0 off': expected evaluation index >= 1 (indexes are "
		     "1-based)"},
	{"p=@5..3 off", "plan:1:7: in term 'p=@5..3 off': expected range end >= 5"},
	{"p=@x off", "plan:1:4: in term 'p=@x off': expected number"},
	{"p=@1.5 off", "plan:1:4: in term 'p=@1.5 off': expected integer"},
	{"p=150% off", "plan:1:3: in term 'p=150% off': expected percentage between 0 and 100"},
	{"p=5 off", "plan:1:4: in term 'p=5 off': expected '%' or '*' after a number"},
	{"p=1.5*off", "plan:1:3: in term 'p=1.5*off': expected integer count before '*'"},
	{"p=every(0) off", "plan:1:9: in term 'p=every(0) off': expected every(N) with N >= 1"},
	{"p=every 3 off", "plan:1:9: in term 'p=every 3 off': expected '('"},
	{"p=after(5) off", "plan:1:10: in term 'p=after(5) off': expected duration unit (ns, us, "
			   "ms, s, m, h)"},
	{"p=after(5d) off", "plan:1:10: in term 'p=after(5d) off': expected duration unit (ns, "
			    "us, ms, s, m, h)"},
	{"p=until(soon) off", "plan:1:9: in term 'p=until(soon) off': expected duration (e.g. "
			      "5ms; units ns, us, ms, s, m, h)"},
	{"p=items(9..2) off", "plan:1:12: in term 'p=items(9..2) off': expected range end >= 9"},
	{"p=@1 @2 off", "plan:1:6: in term 'p=@1 @2 off': expected each modifier once ('@' "
			"given twice)"},
	{"p=peritem peritem off", "plan:1:11: in term 'p=peritem peritem off': expected each "
				  "modifier once ('peritem' given twice)"},
	{"p=sleep(gauss(1ms))", "plan:1:9: in term 'p=sleep(gauss(1ms))': expected distribution "
				"(a duration, uniform, exp, lognormal or pareto)"},
	{"p=sleep(uniform(3ms,1ms))", "plan:1:21: in term 'p=sleep(uniform(3ms,1ms))': expected "
				      "uniform(a,b) with b >= a"},
	{"p=sleep(pareto(1ms,0))", "plan:1:20: in term 'p=sleep(pareto(1ms,0))': expected "
				   "number > 0"},
	{"p=sleep(lognormal(1ms 2))", "plan:1:23: in term 'p=sleep(lognormal(1ms 2))': "
				      "expected ','"},
	{"p=slow(0)", "plan:1:8: in term 'p=slow(0)': expected number > 0"},
	{"p=panic(oops", "plan:1:13: in term 'p=panic(oops': expected ')' to end the message"},
	{"p=off extra", "plan:1:7: in term 'p=off extra': expected '->', ';' or end of plan"},
	{"p=hang(1s)", "plan:1:7: in term 'p=hang(1s)': expected '->', ';' or end of plan"},
	{"p=off->", "plan:1:8: in term 'p=off->': expected action name (error, panic, sleep, "
		    "delay, hang, stuck, slow, drop, dup, oom, yield, print, off)"},
	{"seed=xyz", "plan:1:6: in term 'seed=xyz': expected number"},
	{"seed=0x", "plan:1:8: in term 'seed=0x': expected up to 16 hex digits"},
	{"seed=1 2", "plan:1:8: in term 'seed=1 2': expected ';' or end of plan after the seed"},
	{"a/***/b=off", "plan:1:3: in term 'a/***/b=off': expected at most two '*' in a row"},
	{"p=delay(99999999999s)", "plan:1:9: in term 'p=delay(99999999999s)': expected duration "
				  "of at most 1e18ns"},
	{"p=@99999999999999999999 off", "plan:1:4: in term 'p=@99999999999999999999 off': "
					"expected number below 2^64"},
};

FL_TEST(bad_plans)
{
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		fl_err *e = fl_fault_check(BAD[i].text);
		if (!e)
			FL_FAIL("plan '%s' parsed", BAD[i].text);
		ASSERT(fl_err_is(e, FL_ERR_INVAL));
		ASSERT_STR_EQ(fl_err_msg(e), BAD[i].msg);
		fl_err_drop(e);
	}
}

FL_TEST(long_term_is_truncated)
{
	fl_err *e =
		fl_fault_check("a/very/long/point/name/that/goes/on/and/on/and/on/forever=@0 off");
	ASSERT_STR_EQ(fl_err_msg(e), "plan:1:60: in term 'a/very/long/point/name/that/goes/on/"
				     "and/on/and/on/forever...': expected evaluation index >= 1 "
				     "(indexes are 1-based)");
	fl_err_drop(e);
}

FL_TEST(globs)
{
	static const struct {
		const char *pat, *name;
		bool match;
	} G[] = {
		{"enrich", "enrich", true},
		{"enrich", "enrich2", false},
		{"*", "enrich", true},
		{"*", "tenant/a", false},
		{"**", "tenant/a/enrich", true},
		{"**", "", true},
		{"tenant/*/enrich", "tenant/a/enrich", true},
		{"tenant/*/enrich", "tenant/a/b/enrich", false},
		{"tenant/**/enrich", "tenant/a/b/enrich", true},
		{"tenant/**/enrich", "tenant/enrich", true},
		{"**/enrich", "enrich", true},
		{"**/enrich", "x/y/enrich", true},
		{"**/enrich", "xenrich", false},
		{"en*ch", "enrich", true},
		{"en*ch", "en/ch", false},
		{"*/*", "a/b", true},
		{"*/*", "a", false},
		{"parse.*", "parse.buf", true},
	};
	for (size_t i = 0; i < sizeof(G) / sizeof(G[0]); i++)
		if (fl__fault_glob(G[i].pat, G[i].name) != G[i].match)
			FL_FAIL("glob '%s' vs '%s': expected %d", G[i].pat, G[i].name, G[i].match);
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ASSERT(fl__fault_glob("*a*a*a*a*a*a*a*a*a*", longname));
	ASSERT(!fl__fault_glob("*a*a*a*a*a*a*a*a*b", longname));
}

FL_TEST_MAIN(FL_CASE(fail9_terms), FL_CASE(items_and_seed), FL_CASE(extension_modifiers),
	     FL_CASE(durations_and_distributions), FL_CASE(every_action), FL_CASE(user_error_names),
	     FL_CASE(bad_plans), FL_CASE(long_term_is_truncated), FL_CASE(globs))
