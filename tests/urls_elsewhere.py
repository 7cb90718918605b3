"""A URLconf with none of the site's names, for tests/test_url_tag.py."""

urlpatterns = []
