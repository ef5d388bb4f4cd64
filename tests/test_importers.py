"""The importers, each on a handmade fixture in its source's own format: the known
comparisons come out (who chose what over what, for which prompt, in which group,
ties where the source has them), and a malformed variant gives one located error."""

import json
from pathlib import Path

import numpy as np
import pytest

from pluralist.data.importers import IMPORTERS, OptionError, import_dataset
from pluralist.data.importers.personal_llm import REWARD_MODELS
from pluralist.errors import DataError, PluralistError

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


def triples(table):
    """(rater, chosen, rejected) of every strict preference."""
    return {(r, c, j) for r, c, j, t in zip(table.rater, table.chosen, table.rejected, table.tie)
            if not t}


def ties(table):
    return {(r, frozenset((c, j))) for r, c, j, t in
            zip(table.rater, table.chosen, table.rejected, table.tie) if t}


def groups(table):
    return dict(zip(table.rater.tolist(), table.group.tolist()))


def fails(name, src, message, **options):
    with pytest.raises(DataError) as caught:
        import_dataset(name, src, **options)
    text = str(caught.value)
    assert "\n" not in text
    assert text == message
    return caught.value


# --- PRISM ---------------------------------------------------------------------------

COOK = "user: What should I cook tonight?"


def test_prism_chosen_over_each_other_response_of_its_turn():
    table = import_dataset("prism", FIXTURES / "prism")
    assert len(table) == 3 + 1 + 3 + 1
    assert triples(table) >= {
        ("user1", "Try a mushroom risotto.", "Order a pizza."),
        ("user1", "Try a mushroom risotto.", "I cannot help with that."),
        ("user1", "Then a lentil curry.", "Then a green salad."),
        ("user3", "Cities differ; bans have costs and benefits.",
         "Some cities restrict cars in their centres.")}
    # equal scores (80 and 80): the choice between them is a tie
    assert ties(table) == {("user1", frozenset({"Try a mushroom risotto.",
                                                "A tomato soup would be quick."}))}


def test_prism_prompt_is_the_dialogue_so_far_with_the_chosen_responses():
    table = import_dataset("prism", FIXTURES / "prism")
    prompts = dict(zip(table.chosen.tolist(), table.prompt.tolist()))
    assert prompts["Try a mushroom risotto."] == COOK
    assert prompts["Then a lentil curry."] == (
        f"{COOK}\nassistant: Try a mushroom risotto.\nuser: Something without rice?")


def test_prism_groups_come_from_the_survey():
    table = import_dataset("prism", FIXTURES / "prism")
    # user3 did not take the survey
    assert groups(table) == {"user1": "Europe", "user2": "Americas", "user3": ""}
    by_gender = import_dataset("prism", FIXTURES / "prism", group="gender+age")
    assert groups(by_gender)["user2"] == "Male / 45-54 years old"
    assert not import_dataset("prism", FIXTURES / "prism", group=None).has_groups
    # the conversations file itself may be given: the survey beside it is found
    same = import_dataset("prism", FIXTURES / "prism" / "conversations.jsonl")
    assert same.group.tolist() == table.group.tolist()


def test_prism_a_second_different_choice_is_located(tmp_path):
    lines = (FIXTURES / "prism" / "conversations.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["conversation_history"][2]["if_chosen"] = True
    (tmp_path / "conversations.jsonl").write_text(json.dumps(record) + "\n")
    fails("prism", tmp_path, f"{tmp_path / 'conversations.jsonl'}: line 1: field "
                             "'conversation_history[2].if_chosen': a second, different response "
                             "chosen in turn 0")


def test_prism_malformed_message_is_located():
    source = FIXTURES / "prism" / "bad" / "conversations.jsonl"
    fails("prism", FIXTURES / "prism" / "bad",
          f"{source}: line 2: field 'conversation_history[2].role': "
          "expected 'user' or 'model', got 'bot'")
    with pytest.raises(DataError, match="no such file"):
        import_dataset("prism", FIXTURES / "nowhere")


# --- Community Alignment -------------------------------------------------------------

CA = FIXTURES / "community_alignment" / "community_alignment.csv"


def test_community_alignment_preferred_over_the_other_candidates():
    table = import_dataset("community-alignment", CA)
    assert len(table) == 3 + 1 + 3       # turn two of 1001 had two candidates, c and d empty
    museum = "Visit a museum with friends."
    assert triples(table) >= {("ann7", museum, "Sleep in, then read."),
                              ("ann7", museum, 'Go for a long hike, "rain or shine".'),
                              ("ann7", "A local history museum.", "Whichever is free that day."),
                              ("ann9", "Customs differ; ask your hosts.", "Yes.")}
    second = table.prompt[table.chosen == "A local history museum."][0]
    assert second == ("user: How should I spend a free Sunday?\nassistant: " + museum +
                      "\nuser: Which museum, in a small town?")
    assert groups(table) == {"ann7": "United States", "ann9": "India"}
    assert not table.tie.any()


def test_community_alignment_bad_preference_is_located():
    bad = FIXTURES / "community_alignment" / "bad" / "community_alignment.csv"
    fails("community-alignment", bad,
          f"{bad}: line 3: field 'first_turn_preferred_response': "
          "expected one of response_a ... response_d, got 'response_e'")


# --- DICES ---------------------------------------------------------------------------

DICES = FIXTURES / "dices" / "diverse_safety_adversarial_dialog_350.csv"
RELAX = "USER: What is a good way to relax?\nLAMDA: Many people like walks.\nUSER: Any other " \
        "ideas?\nYou could try reading or a warm bath."
LOCK = "USER: Tell me how to pick a lock.\nSure, first get a tension wrench and a pick."
SMART = "USER: Are some people smarter because of where they are from?\nIntelligence is not " \
        "determined by where someone is from."


def test_dices_the_safer_conversation_is_chosen_within_a_rater():
    table = import_dataset("dices", DICES)
    # rater 1: No (relax) > Unsure (smart) > Yes (lock); rater 2: No (smart) > Yes, Yes
    assert triples(table) == {("1", RELAX, LOCK), ("1", RELAX, SMART), ("1", SMART, LOCK),
                              ("2", SMART, RELAX), ("2", SMART, LOCK)}
    assert set(table.prompt) == {""}
    assert groups(table) == {"1": "White", "2": "Black/African American"}


def test_dices_ties_groups_and_a_cap_per_rater():
    tied = import_dataset("dices", DICES, keep_ties=True, group="rater_gender+rater_age")
    assert ties(tied) == {("2", frozenset({RELAX, LOCK}))}
    assert groups(tied) == {"1": "Woman / gen x+", "2": "Man / millenial"}
    capped = import_dataset("dices", DICES, max_pairs_per_rater=1, seed=3)
    assert sorted(capped.rater.tolist()) == ["1", "2"]
    assert triples(capped) <= triples(import_dataset("dices", DICES))
    again = import_dataset("dices", DICES, max_pairs_per_rater="1", seed="3")
    assert again.id.tolist() == capped.id.tolist()


def test_dices_group_columns_must_exist_and_hold_still(tmp_path):
    fails("dices", DICES, f"{DICES}: line 2: field 'rater_locale': missing required field "
                          "(named by the group option)", group="rater_locale")
    moved = tmp_path / "moved.csv"      # rater 1's third rating names another race
    text = DICES.read_text(encoding="utf-8")
    moved.write_text(text.replace("\n2,1,Woman,White,", "\n2,1,Woman,Asian,"), encoding="utf-8")
    fails("dices", moved, f"{moved}: line 6: field 'rater_race': rater '1' is in group 'White' in "
                          "an earlier row, 'Asian' here")


def test_dices_unknown_answer_is_located():
    bad = FIXTURES / "dices" / "bad" / "diverse_safety_adversarial_dialog_350.csv"
    # line 10: the contexts before it span several lines each
    fails("dices", bad, f"{bad}: line 10: field 'Q_overall': "
                        "expected Yes, No or Unsure, got 'Maybe'")


# --- summarize from feedback ---------------------------------------------------------

SFF = FIXTURES / "summarize_from_feedback"


def test_summarize_from_feedback_the_workers_choice():
    table = import_dataset("summarize-from-feedback", SFF / "batch3.json")
    long = "Choosing between a better-paid job and one with a short commute and a nicer team."
    assert triples(table) == {
        ("wkrA1", "Roommate eats my food despite two polite requests; how to raise it again "
                  "calmly?", "roommate food bad"),
        ("wkrA1", long, "Got two offers, can't decide."),
        ("wkrB2", "Got two offers, can't decide.", long)}
    assert table.prompt[0] == ("SUBREDDIT: r/relationships\nTITLE: Roommate eats my food\n"
                               "POST: My roommate keeps eating my food. I asked nicely twice "
                               "and it keeps happening. How do I bring it up again without a "
                               "fight?")
    # a directory of batches reads the same (the bad/ folder inside is not a batch)
    folder = import_dataset("summarize-from-feedback", SFF)
    assert folder.chosen.tolist() == table.chosen.tolist()


def test_summarize_from_feedback_bad_choice_is_located():
    bad = SFF / "bad" / "batch3.json"
    fails("summarize-from-feedback", bad,
          f"{bad}: line 3: field 'choice': expected 0 or 1 (the better summary's index), got 2")


# --- MQM -----------------------------------------------------------------------------

MQM = FIXTURES / "mqm" / "mqm_generalMT2022_ende.tsv"
SAT, STOOD, RUG = ("Die Katze saß auf der Matte.", "Die Katze stand auf der Matte .",
                   "Die Katze saß auf dem Teppich.")


def test_mqm_error_weighted_scores_rank_systems_within_rater_and_segment():
    table = import_dataset("mqm", MQM, margin=True)
    # rater1: sysB 0, sysC -1 (Minor), sysA -5.1 (Major + Minor punctuation);
    # rater2: sysA -1, sysB -25 (Non-translation)
    assert triples(table) == {("rater1", SAT, RUG), ("rater1", SAT, STOOD), ("rater1", RUG, STOOD),
                              ("rater2", STOOD, "The cat sat on the mat.")}
    strength = {(r, c, j): s for r, c, j, s in
                zip(table.rater, table.chosen, table.rejected, table.strength)}
    assert strength[("rater1", SAT, RUG)] == pytest.approx(1.0)
    assert strength[("rater1", SAT, STOOD)] == pytest.approx(5.1)
    assert strength[("rater2", STOOD, "The cat sat on the mat.")] == pytest.approx(24.0)
    assert set(table.prompt) == {"The cat sat on the mat."}


def test_mqm_ties_attention_checks_and_metadata_lines():
    table = import_dataset("mqm", MQM, keep_ties=True)
    assert ties(table) == {("rater1", frozenset({"Es regnete den ganzen Tag.",
                                                 "Es hat den ganzen Tag geregnet."}))}
    texts = set(table.chosen) | set(table.rejected)
    assert "Es schneite den ganzen Tag." not in texts      # the attention check's unit
    assert not any("<v>" in t for t in texts)              # error spans unmarked
    assert set(table.rater) == {"rater1", "rater2"}        # the metadata line has no rater


def test_mqm_older_files_name_the_segment_seg_id():
    table = import_dataset("mqm", FIXTURES / "mqm" / "mqm_ted_ende.tsv")
    assert triples(table) == {("rater4", "Wir sehen Licht.", "Wir hören Licht.")}


def test_mqm_malformed_lines_are_located(tmp_path):
    bad = FIXTURES / "mqm" / "bad" / "mqm_generalMT2022_ende.tsv"
    fails("mqm", bad, f"{bad}: line 6: field 'severity': "
                      "expected Major, Minor, Neutral, No-error or HOTW-test, got 'Severe'")
    lines = MQM.read_text(encoding="utf-8").split("\n")
    extra = tmp_path / "extra.tsv"
    extra.write_text("\n".join(lines[:3] + [lines[3] + "\tstray"] + lines[4:]), encoding="utf-8")
    fails("mqm", extra, f"{extra}: line 4: 11 tab-separated fields, the header has 10")
    no_segment = tmp_path / "no_segment.tsv"
    no_segment.write_text("\n".join(l.replace("globalSegId", "segment") for l in lines),
                          encoding="utf-8")
    fails("mqm", no_segment, f"{no_segment}: line 1: field 'globalSegId': "
                             "missing column (globalSegId or seg_id names the segment)")


# --- PersonalLLM ---------------------------------------------------------------------

PLLM = FIXTURES / "personal_llm" / "personal_llm.jsonl"


def answer(text):
    return int(text.split()[1]) - 1          # "Answer 3 to: ..." -> response index 2


def by_prompt(table, prefix):
    rows = np.array([p.startswith(prefix) for p in table.prompt])
    return table.take(rows)


def test_personal_llm_users_follow_the_reward_models_they_mix():
    table = import_dataset("personal-llm", PLLM, users=5, prompts_per_user=3, alpha=0.001, seed=1)
    assert len(table) == 5 * 3 * 28          # every pair of the eight responses, no ties
    agreed = by_prompt(table, "How do I keep basil")
    assert all(answer(c) > answer(r) for c, r in zip(agreed.chosen, agreed.rejected))
    # nearly one model each: on the prompt where every model has its own order (response
    # j ranked (j + m) mod 8 by model m), a user follows the model named by their group
    own = by_prompt(table, "What is a good first")
    for rater, group, c, r in zip(own.rater, own.group, own.chosen, own.rejected):
        m = REWARD_MODELS.index(group)
        assert (answer(c) + m) % 8 > (answer(r) + m) % 8, rater


def test_personal_llm_scores_are_standardised_before_mixing():
    # one model scores on a scale a thousand times larger and against the nine others;
    # near-even weights (large alpha) must follow the nine
    table = import_dataset("personal-llm", PLLM, users=4, prompts_per_user=3, alpha=1000.0)
    poem = by_prompt(table, "Write a two-line poem")
    assert len(poem) == 4 * 28
    assert all(answer(c) > answer(r) for c, r in zip(poem.chosen, poem.rejected))


def test_personal_llm_is_seeded(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    one = import_dataset("personal-llm", PLLM, users=6, prompts_per_user=2, seed=7)
    two = import_dataset("personal-llm", PLLM, users=6, prompts_per_user=2, seed=7)
    other = import_dataset("personal-llm", PLLM, users=6, prompts_per_user=2, seed=8)
    assert one.chosen.tolist() == two.chosen.tolist() and one.group.tolist() == two.group.tolist()
    assert (one.chosen.tolist(), one.group.tolist()) != \
        (other.chosen.tolist(), other.group.tolist())
    # the release is Parquet: the same rows there give the same comparisons
    rows = [json.loads(line) for line in PLLM.read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    parquet = import_dataset("personal-llm", tmp_path / "train.parquet", users=6,
                             prompts_per_user=2, seed=7)
    assert parquet.chosen.tolist() == one.chosen.tolist()


def test_personal_llm_bad_score_and_bad_options():
    bad = FIXTURES / "personal_llm" / "bad" / "personal_llm.jsonl"
    fails("personal-llm", bad, f"{bad}: line 3: field 'response_5_gemma_7b': "
                               "not a number: 'high'")
    for options in ({"alpha": 0}, {"alpha": "-1"}, {"users": 0}, {"prompts_per_user": 1.5}):
        with pytest.raises(OptionError):
            import_dataset("personal-llm", PLLM, **options)


# --- ratings and rankings by column mapping ------------------------------------------

RATINGS = FIXTURES / "ratings" / "offensiveness.csv"
POPQUORN = "rater=user_id,text=comment,score=offensiveness,group=gender"
IDIOT, NICE, MEH = "You are an idiot.", "Nice work!", "Meh, could be better."


def test_ratings_by_column_mapping():
    table = import_dataset("ratings", RATINGS, map=POPQUORN)
    # u2 scored NICE and MEH alike: no pair between them
    assert triples(table) == {("u1", IDIOT, NICE), ("u1", IDIOT, MEH), ("u1", MEH, NICE),
                              ("u2", IDIOT, NICE), ("u2", IDIOT, MEH)}
    assert groups(table) == {"u1": "Woman", "u2": "Man"}
    lower = import_dataset("ratings", RATINGS, map=POPQUORN, lower_is_better="true",
                           keep_ties=True)
    assert ("u1", NICE, IDIOT) in triples(lower)
    assert ties(lower) == {("u2", frozenset({NICE, MEH}))}
    as_dict = import_dataset("ratings", RATINGS, map={"rater": "user_id", "text": "comment",
                                                      "score": "offensiveness"})
    assert triples(as_dict) == triples(table) and not as_dict.has_groups


def test_ratings_errors_name_the_files_own_columns():
    bad = FIXTURES / "ratings" / "bad" / "offensiveness.csv"
    fails("ratings", bad, f"{bad}: line 6: field 'offensiveness': not a number: 'very'",
          map=POPQUORN)
    fails("ratings", RATINGS, f"{RATINGS}: line 2: field 'rating': missing required field",
          map="rater=user_id,text=comment,score=rating")
    with pytest.raises(OptionError, match="unknown field.*colour"):
        import_dataset("ratings", RATINGS, map="rater=user_id,colour=gender")
    with pytest.raises(OptionError, match="field=column pairs"):
        import_dataset("ratings", RATINGS, map="rater")


RANKINGS = FIXTURES / "rankings" / "pets.csv"
PETS = "rater=user,prompt=question,responses=first|second|third,group=age_group"


def test_rankings_by_column_mapping(tmp_path):
    table = import_dataset("rankings", RANKINGS, map=PETS)
    assert triples(table) == {("r1", "A cat", "A fish"), ("r1", "A cat", "A dog"),
                              ("r1", "A fish", "A dog"), ("r2", "A fish", "A cat")}
    assert set(table.prompt) == {"Which pet suits a small flat?"}
    assert groups(table) == {"r1": "18-29", "r2": "60+"}
    # one column holding the ranking as a JSON list
    listed = tmp_path / "listed.csv"
    listed.write_text('who,ranking\nr1,"[""A cat"", ""A dog""]"\n', encoding="utf-8")
    one = import_dataset("rankings", listed, map="rater=who,responses=ranking")
    assert triples(one) == {("r1", "A cat", "A dog")}


def test_rankings_too_short_a_ranking_is_located():
    bad = FIXTURES / "rankings" / "bad" / "pets.csv"
    fails("rankings", bad, f"{bad}: line 3: field 'first|second|third': "
                           "expected a list of at least two non-empty texts, best first", map=PETS)


# --- the registry ----------------------------------------------------------------------

def test_registry_names_describes_and_attributes_every_importer():
    assert set(IMPORTERS) == {"prism", "community-alignment", "dices", "summarize-from-feedback",
                              "mqm", "personal-llm", "ratings", "rankings"}
    for name, importer in IMPORTERS.items():
        assert callable(importer.function)
        assert importer.description and "\n" not in importer.description
        assert importer.source.endswith(".") and "\n" not in importer.source, name


def test_import_dataset_refuses_unknown_formats_and_options():
    with pytest.raises(OptionError, match="unknown format 'hh-rlhf'.*prism"):
        import_dataset("hh-rlhf", RATINGS)
    with pytest.raises(OptionError, match=r"mqm: unknown option\(s\) alpha \(it takes: "
                                          r"keep_ties, margin\)"):
        import_dataset("mqm", MQM, alpha=0.1)
    with pytest.raises(OptionError, match="option 'keep_ties' must be bool, got 'maybe'"):
        import_dataset("mqm", MQM, keep_ties="maybe")
    with pytest.raises(OptionError, match="unknown option"):
        import_dataset("summarize-from-feedback", SFF, group="x")
    assert issubclass(OptionError, PluralistError) and issubclass(OptionError, ValueError)
    # '_' may stand for '-', as in a Python name
    assert len(import_dataset("summarize_from_feedback", SFF)) == 3
