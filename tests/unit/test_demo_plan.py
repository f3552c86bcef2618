"""The demo's scenarios and sizing (pure parts)."""

from console.core.budget import compute
from console.demo.fleet import plan_for, scale_allocation


def test_incident_scenario_overcommits_after_the_scale_up(shipped_allocation):
    plan = plan_for("incident", shipped_allocation, None)
    assert plan.incidents and plan.scale_up == {"auth-service": 3}
    assert plan.drift == {"user-service": 20}  # the seed's max() wrapper
    before = compute(shipped_allocation, live_replicas=plan.replicas)
    after = compute(shipped_allocation, live_replicas={**plan.replicas, **plan.scale_up})
    assert not before.overcommitted and after.overcommitted  # the scale-up pushes it over


def test_calm_and_sizes(shipped_allocation):
    calm = plan_for("calm", shipped_allocation, 2)
    assert not calm.incidents and not calm.scale_up and set(calm.replicas.values()) == {2}
    three = scale_allocation(shipped_allocation, 3)
    assert three.names() == ("auth-service", "user-service", "content-service")
    twenty = scale_allocation(shipped_allocation, 20)
    assert len(twenty.services) == 20 and twenty.names()[-1] == "extra-service-20"
