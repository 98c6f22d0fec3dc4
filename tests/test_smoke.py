from tests.factories import council_user


def test_home_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Council Innovation Marketplace" in response.get_data(as_text=True)


def test_sign_in_and_dashboard(client, login):
    user = council_user("challenge_owner")
    login(user)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert user.full_name in page.get_data(as_text=True)
