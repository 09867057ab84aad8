import pytest


@pytest.mark.django_db
def test_the_stylesheet_is_served_without_collectstatic(client):
    response = client.get("/static/mmooc/site.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)
