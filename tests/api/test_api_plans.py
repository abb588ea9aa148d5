"""`/api/v2/plans`: import as JSON or YAML, check, list, show, and every bad input as a 4xx."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from tests.api.conftest import SHOP, SHOP_PLAN, import_shop, shop_plan_data


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "detail"}
    return dict(body)


def test_import_yaml_then_list_and_show(client: TestClient) -> None:
    masterplan_id = import_shop(client)
    listed = client.get("/api/v2/plans").json()
    assert [p["id"] for p in listed] == [masterplan_id]
    assert listed[0]["name"] == "shop"
    assert listed[0]["tasks"] == 2
    assert listed[0]["has_graph"] is False
    assert listed[0]["reference"] == str((SHOP / "reference").resolve())

    shown = client.get(f"/api/v2/plans/{masterplan_id}").json()
    assert shown["plan"]["name"] == "shop"
    assert [t["id"] for m in shown["plan"]["phases"][0]["milestones"] for t in m["tasks"]] == [
        "prices",
        "basket",
    ]
    assert shown["run_ids"] == []
    # a unique prefix of the id names the plan too, as in the CLI
    assert client.get(f"/api/v2/plans/{masterplan_id[:8]}").json()["id"] == masterplan_id


def test_import_json_body(client: TestClient) -> None:
    response = client.post("/api/v2/plans", params={"base_dir": str(SHOP)}, json=shop_plan_data())
    assert response.status_code == 201
    assert response.json()["name"] == "shop"


def test_check_reports_every_issue_without_storing(client: TestClient) -> None:
    data = shop_plan_data()
    data["phases"][0]["milestones"][0]["tasks"][1]["depends_on"] = ["nowhere"]
    data["language"] = "cobol"
    response = client.post("/api/v2/plans/check", json=data)
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert any(issue["path"] == "language" for issue in body["issues"])

    good = client.post(
        "/api/v2/plans/check",
        params={"base_dir": str(SHOP)},
        content=SHOP_PLAN.read_bytes(),
        headers={"content-type": "application/yaml"},
    ).json()
    assert good == {"valid": True, "name": "shop", "tasks": 2, "issues": []}
    assert client.get("/api/v2/plans").json() == []


def test_malformed_json_is_a_422_in_the_error_shape(client: TestClient) -> None:
    response = client.post(
        "/api/v2/plans", content=b'{"version": 1,', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = _error(response)
    assert body["error"] == "PlanError"
    assert "line 1" in json.dumps(body["detail"])


def test_invalid_plans_are_422_with_field_paths(client: TestClient) -> None:
    data = shop_plan_data()
    del data["phases"][0]["milestones"][0]["tasks"][0]["files"]
    response = client.post("/api/v2/plans", params={"base_dir": str(SHOP)}, json=data)
    assert response.status_code == 422
    detail = _error(response)["detail"]
    assert isinstance(detail, dict)
    assert {"path": "phases[0].milestones[0].tasks[0].files", "message": "field required"} in (
        detail["issues"]
    )

    for body in (b"[1, 2]", b"null", b"\xff\xfe", b"a: [unclosed"):
        response = client.post(
            "/api/v2/plans", content=body, headers={"content-type": "application/yaml"}
        )
        assert response.status_code == 422, body
        assert _error(response)["error"] == "PlanError"
    assert client.get("/api/v2/plans").json() == []


def test_a_missing_reference_is_refused(client: TestClient) -> None:
    empty = SHOP / "reference" / "shop"  # a directory of the plan roots without `reference/`
    response = client.post("/api/v2/plans", params={"base_dir": str(empty)}, json=shop_plan_data())
    assert response.status_code == 422
    assert "reference" in json.dumps(_error(response)["detail"])


def test_unknown_plan_ids_are_404(client: TestClient) -> None:
    for text in ("nope", "00000000-0000-0000-0000-000000000000", "abcd"):
        response = client.get(f"/api/v2/plans/{text}")
        assert response.status_code == 404
        assert _error(response)["error"] == "NotFound"
    assert client.get("/api/v2/plans", params={"limit": 0}).status_code == 422
    assert client.get("/api/v2/nowhere").json()["error"] == "NotFound"


def test_text_that_cannot_be_stored_is_refused_not_a_500(client: TestClient) -> None:
    for bad in ("\ud800", "nul\u0000byte"):
        data = shop_plan_data()
        data["description"] = bad
        body = json.dumps(data).encode()  # JSON escapes carry both through
        response = client.post(
            "/api/v2/plans",
            params={"base_dir": str(SHOP)},
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, bad
        assert _error(response)["error"] == "PlanError"
        if bad.isprintable() or "\x00" in bad:  # a URL cannot carry a lone surrogate
            response = client.post("/api/v2/plans", params={"base_dir": bad}, json=shop_plan_data())
            assert response.status_code == 422, bad
        decompose = client.post(
            "/api/v2/atomization/decompose",
            content=json.dumps({"code": "x = 1\n", "path": f"{bad}.py"}).encode(),
            headers={"content-type": "application/json"},
        )
        assert decompose.status_code == 422, bad
        assert decompose.json()["error"] in {"AtomizeError", "RequestInvalid"}
        run = client.post(
            "/api/v2/runs",
            content=json.dumps({"masterplan_id": bad}).encode(),
            headers={"content-type": "application/json"},
        )
        assert run.status_code in (404, 422), bad
    assert client.get("/api/v2/plans").json() == []
