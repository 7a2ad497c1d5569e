def test_create_then_get(api):
    created = api("POST", "/todos", {"title": "Read a book"})
    assert created.status == 201, created.body
    got = api("GET", f"/todos/{created.body['id']}")
    assert got.status == 200
    assert got.body == created.body
