"""The TRL reward function, called as GRPOTrainer calls it: prompts, completions and every
dataset column as keyword lists (a user id among them), plain or conversational."""

from __future__ import annotations

import numpy as np
import pytest

from pluralist.integrations.trl import PluralistReward, message_text

from .conftest import KEY, local_scorer


def expected(scorer, prompt, responses, rater):
    vectors = scorer.batcher.embed(scorer.texts_for(prompt, responses))
    n = len(responses)
    return scorer.rewards(vectors[:n], np.repeat(vectors[n:], n, axis=0), rater, None)[0]


def grpo_batch(raters):
    """Two prompts x two generations each, as TRL hands them over (prompts repeated)."""
    prompts = ["How do I learn Python?"] * 2 + ["What is a good breakfast?"] * 2
    completions = ["Read the tutorial and practise daily.", "idk", "Oats with fruit.", "Nothing."]
    return prompts, completions, {"user_id": raters, "trainer_state": None,
                                  "completion_ids": [[1, 2]] * 4}


def test_local_model_scores_each_sample_for_its_user(model_dir):
    scorer = local_scorer(model_dir)
    seen = scorer.model.raters[2]
    reward = PluralistReward(str(model_dir))
    prompts, completions, columns = grpo_batch([seen, seen, "stranger", None])
    got = reward(prompts=prompts, completions=completions, **columns)
    want = (expected(scorer, prompts[0], completions[:2], seen)
            + expected(scorer, prompts[2], completions[2:], None))
    assert got == pytest.approx(want, abs=1e-5)
    assert reward.__name__ == "pluralist_reward"


def test_conversations_and_a_server_url_give_the_same_rewards(model_dir, server):
    seen = local_scorer(model_dir).model.raters[3]
    prompts, completions, columns = grpo_batch([seen] * 4)
    columns = {"annotator": columns.pop("user_id"), **columns}
    local = PluralistReward(str(model_dir), user_column="annotator")(prompts, completions, **columns)
    chat_prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": p}]
                    for p in prompts]
    chat_completions = [[{"role": "assistant", "content": c}] for c in completions]
    remote = PluralistReward(server.url, user_column="annotator", api_key=KEY, name="personal")
    assert remote(chat_prompts, chat_completions, **columns) == pytest.approx(local, abs=1e-5)
    assert remote.__name__ == "personal"


def test_message_text_and_a_short_column_are_checked(model_dir):
    assert message_text([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                         {"role": "user", "content": "c"}], role="user") == "c"
    assert message_text([{"role": "assistant", "content": "x"}, {"role": "assistant", "content": "y"}]) == "x\ny"
    from pluralist.errors import PluralistError

    with pytest.raises(PluralistError, match="messages"):
        message_text(3)
    with pytest.raises(PluralistError, match="'user_id' has 1 entries for 2 completions"):
        PluralistReward(str(model_dir))(["p", "p"], ["a", "b"], user_id=["x"])
