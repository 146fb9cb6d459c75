"""News feeds for digests: read RSS and Atom safely, from public addresses or the allow-list only.

Every fetch goes over real sockets to the local feed server (standins/feeds.py). Address
checks are proven without traffic: a test resolver maps names to internal addresses, and a
socket-level audit hook shows no connection was even attempted.
"""

from __future__ import annotations

import socket
import ssl
import time
from datetime import UTC, datetime

import pytest
import trustme

from multisms.config import Settings
from multisms.errors import FeedError
from multisms.feeds import Feed, fetch_feed, parse_feed
from standins import FeedStandIn
from tests.feed_helpers import connects, recorded_sockets, resolving


def allowing(*servers: FeedStandIn, **values) -> Settings:
    """Settings that let these local feed servers through, and nothing else that is not public."""
    hosts = ",".join(f"127.0.0.1:{server.port}" for server in servers)
    return Settings(_env_file=None, feed_allowed_hosts=hosts, **values)


def read(url: str, settings: Settings, **kwargs) -> Feed:
    fetched = fetch_feed(url, settings, **kwargs)
    return parse_feed(fetched.data, fetched.url, content_type=fetched.content_type)


def refusal(url: str, settings: Settings, **kwargs) -> str:
    with pytest.raises(FeedError) as caught:
        read(url, settings, **kwargs)
    return caught.value.reason


@pytest.fixture
def sockets():
    with recorded_sockets() as log:
        yield log


@pytest.fixture
def https_feed_server(monkeypatch, tmp_path):
    """The feed server over HTTPS with a certificate for feeds.intranet from a CA this process trusts."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # OpenSSL's default trust store
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("feeds.intranet").configure_cert(context)
    with FeedStandIn(tls=context) as server:
        yield server
    assert server.errors == []


# --------------------------------------------------------------------------- reading feeds
@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
def test_rss_and_atom_items_arrive_as_plain_text_with_links_utc_times_and_keys(feed_server, path):
    feed = read(feed_server.root_url + path, allowing(feed_server))

    assert feed.title == "Riverside News"
    library, council = feed.items
    assert council.title == "Council approves new bike lanes"
    assert council.key == "urn:riverside:1"  # its guid / Atom id
    assert council.link == feed_server.root_url + "/news/1"
    assert council.published == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # published 10:00 at UTC+2
    assert council.summary == "The vote was 7 to 2. Work starts in June."  # no tags, no script
    assert library.key == library.link == feed_server.root_url + "/news/2"
    assert library.summary == "From next week, 10:00–16:00."


def test_long_titles_and_summaries_are_cut_at_a_word(feed_server):
    feed_server.add_item("Budget " * 100, link="/news/3", summary="<p>" + "Every line of the budget. " * 400 + "</p>")

    newest = read(feed_server.root_url + "/rss.xml", allowing(feed_server)).items[0]

    assert len(newest.title) <= 300 and newest.title.endswith("Budget…")
    assert len(newest.summary) <= 600 and newest.summary.endswith("budget…")


def test_keys_stay_the_same_across_fetches_and_new_items_are_the_new_keys(feed_server):
    url, settings = feed_server.root_url + "/rss.xml", allowing(feed_server)
    first = {item.key for item in read(url, settings).items}
    assert {item.key for item in read(url, settings).items} == first

    feed_server.add_item("Bridge reopens", guid="urn:riverside:7", published=datetime(2024, 5, 3, tzinfo=UTC))
    feed_server.add_item("Road closed on Friday", published=datetime(2024, 5, 4, 6, 0, tzinfo=UTC))  # no guid, no link
    second = read(url, settings).items
    third = read(url, settings).items

    new = [item for item in second if item.key not in first]
    assert [item.title for item in new] == ["Road closed on Friday", "Bridge reopens"]
    assert new[1].key == "urn:riverside:7" and len(new[0].key) == 64  # a hash of its title and time
    assert [item.key for item in third] == [item.key for item in second]


@pytest.mark.parametrize(("path", "why"), [
    ("/broken.xml", "not a valid feed: mismatched tag at line 3"),
    ("/page.html", "not a feed: that address is a web page; use the site's RSS or Atom link"),
])
def test_a_broken_document_or_a_web_page_is_refused_saying_why(feed_server, path, why):
    assert refusal(feed_server.root_url + path, allowing(feed_server)).startswith(why)


def test_html_entities_in_a_feed_do_not_make_it_unreadable(feed_server):
    url = feed_server.publish("/entities.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>A&nbsp;B'
                              "</title><item><title>Caf&eacute; opens</title><guid>urn:c</guid></item></channel></rss>")

    assert [item.title for item in read(url, allowing(feed_server)).items] == ["Café opens"]


HOSTILE_DOCTYPES = {
    "external-entities": ('<!DOCTYPE rss [<!ENTITY local SYSTEM "file://{secret}">'
                          '<!ENTITY remote SYSTEM "{root}/secret">]>', "A &local; &remote;"),
    "parameter-entity": '<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "{root}/evil.dtd"> %dtd;]>',
    "external-dtd": '<!DOCTYPE rss SYSTEM "{root}/evil.dtd">',
}


@pytest.mark.parametrize(("doctype", "outcome"), [
    ("external-entities", "not a valid feed"),
    ("parameter-entity", "not a valid feed"),
    ("external-dtd", ["A"]),
])
def test_the_parser_never_fetches_or_opens_anything_itself(feed_server, sockets, tmp_path, doctype, outcome):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    declaration, title = HOSTILE_DOCTYPES[doctype] if isinstance(HOSTILE_DOCTYPES[doctype], tuple) \
        else (HOSTILE_DOCTYPES[doctype], "A")
    url = feed_server.publish("/hostile.xml", '<?xml version="1.0"?>\n'
                              + declaration.format(secret=secret, root=feed_server.root_url)
                              + f'\n<rss version="2.0"><channel><title>T</title><item><title>{title}</title>'
                              "<guid>urn:a</guid></item></channel></rss>")
    try:
        result = [item.title for item in read(url, allowing(feed_server)).items]
    except FeedError as refused:
        result = refused.reason

    assert result == outcome if isinstance(outcome, list) else result.startswith(outcome)
    assert "TOP-SECRET" not in repr(result)
    assert [request.path for request in feed_server.requests] == ["/hostile.xml"]
    assert connects(sockets) == [("127.0.0.1", feed_server.port)]


def test_a_body_that_names_a_local_file_is_not_opened_as_one(feed_server, tmp_path):
    local_feed = tmp_path / "local.xml"
    local_feed.write_text(feed_server.rss())
    url = feed_server.publish("/path.txt", str(local_feed), "text/plain")

    assert refusal(url, allowing(feed_server)).startswith("not a feed")


# --------------------------------------------------------------------------- time and size
@pytest.mark.parametrize("path", ["/slow.xml", "/drip.xml"], ids=["no-answer", "trickle"])
def test_a_slow_feed_is_given_up_on_after_the_timeout(feed_server, path):
    settings = allowing(feed_server, feed_timeout_seconds=0.5)  # the trickle would take ~8 s in all
    started = time.monotonic()

    assert refusal(feed_server.root_url + path, settings) == "timed out after 0.5 s"
    assert time.monotonic() - started < 2


def test_a_too_big_feed_is_refused_while_it_downloads(feed_server):
    settings = allowing(feed_server, feed_max_bytes=100_000)

    assert refusal(feed_server.root_url + "/big.xml", settings) == "bigger than 100 KB"
    stream = feed_server.streams[0]
    assert stream.ended.wait(5), "the server should notice the client hung up"
    assert not stream.finished and stream.sent < stream.planned  # it had more to send when we stopped


def test_a_compressed_feed_is_measured_by_its_unpacked_size(feed_server):
    assert len(feed_server.bomb_body()) < 100_000 < feed_server.bomb_bytes

    assert refusal(feed_server.root_url + "/bomb.xml", allowing(feed_server, feed_max_bytes=100_000)) \
        == "bigger than 100 KB"


# --------------------------------------------------------------------------- addresses
@pytest.mark.parametrize(("address", "kind"), [
    ("10.0.0.5", "a private address"),
    ("192.168.1.20", "a private address"),
    ("fd00::1", "a private address"),
    ("::ffff:10.0.0.5", "a private address"),
    ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"),
    ("169.254.169.254", "a link-local address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("0.0.0.0", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
])
def test_a_name_that_resolves_to_an_internal_address_is_refused_before_connecting(sockets, address, kind):
    asked: list[str] = []
    resolver = resolving({"news.example.com": [address]}, asked)

    reason = refusal("http://news.example.com/rss.xml", Settings(_env_file=None), resolver=resolver)

    assert reason == f"news.example.com resolves to {address}, {kind}"
    assert asked == ["news.example.com"]
    assert sockets == []  # no connect, and no second DNS lookup


def test_one_internal_answer_among_public_ones_refuses_the_name(sockets):
    resolver = resolving({"news.example.com": ["93.184.215.14", "10.0.0.5"]})

    assert refusal("http://news.example.com/", Settings(_env_file=None), resolver=resolver) \
        == "news.example.com resolves to 10.0.0.5, a private address"
    assert sockets == []


def test_a_name_pointing_at_the_local_server_does_not_reach_it(feed_server, sockets):
    resolver = resolving({"news.example.com": ["127.0.0.1"]})
    url = f"http://news.example.com:{feed_server.port}/rss.xml"

    assert refusal(url, allowing(feed_server), resolver=resolver) \
        == "news.example.com resolves to 127.0.0.1, a loopback address"
    assert feed_server.requests == [] and connects(sockets) == []


@pytest.mark.parametrize(("target", "why"), [
    ("http://10.0.0.5/feed", "10.0.0.5 is a private address"),
    ("http://intranet.example.com/feed", "intranet.example.com resolves to 192.168.1.20, a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("file:///etc/passwd", "only http and https feeds can be read, not file"),
])
def test_a_redirect_to_an_internal_address_is_refused_before_it_is_followed(feed_server, sockets, target, why):
    resolver = resolving({"intranet.example.com": ["192.168.1.20"]})
    url = f"{feed_server.root_url}/redirect?to={target}"

    assert refusal(url, allowing(feed_server), resolver=resolver) == f"it redirects to {target}, and {why}"
    assert connects(sockets) == [("127.0.0.1", feed_server.port)]
    assert len(feed_server.requests) == 1


def test_the_allow_list_lets_through_exactly_its_host_and_port(feed_server, sockets):
    with FeedStandIn() as other:
        settings = allowing(feed_server)
        assert read(feed_server.root_url + "/rss.xml", settings).items

        assert refusal(other.root_url + "/rss.xml", settings) == "127.0.0.1 is a loopback address"
        assert refusal(f"{feed_server.root_url}/redirect?to={other.root_url}/rss.xml", settings).endswith(
            "and 127.0.0.1 is a loopback address")
        assert refusal(f"http://localhost:{feed_server.port}/rss.xml", settings) \
            == "localhost resolves to 127.0.0.1, a loopback address"
        assert other.requests == []
    assert set(connects(sockets)) == {("127.0.0.1", feed_server.port)}


def test_an_allowed_name_is_reached_at_the_address_that_was_checked(feed_server, sockets):
    asked: list[str] = []
    resolver = resolving({"feeds.intranet": ["127.0.0.1"]}, asked)
    settings = Settings(_env_file=None, feed_allowed_hosts=f"feeds.intranet:{feed_server.port}")

    feed = read(f"http://feeds.intranet:{feed_server.port}/rss.xml", settings, resolver=resolver)

    assert len(feed.items) == 2
    assert asked == ["feeds.intranet"]
    assert connects(sockets) == [("127.0.0.1", feed_server.port)]
    assert "feeds.intranet" not in [host for event, host in sockets if event == "getaddrinfo"]
    assert feed_server.requests[0].header("Host") == f"feeds.intranet:{feed_server.port}"


def test_https_is_verified_against_the_name_in_the_address_not_the_ip(https_feed_server, sockets, monkeypatch):
    port = https_feed_server.port
    resolver = resolving({"feeds.intranet": ["127.0.0.1"], "other.intranet": ["127.0.0.1"]})
    settings = Settings(_env_file=None, feed_allowed_hosts=f"feeds.intranet:{port},other.intranet:{port}")

    assert len(read(f"https://feeds.intranet:{port}/rss.xml", settings, resolver=resolver).items) == 2
    assert https_feed_server.server_names == ["feeds.intranet"]
    assert connects(sockets) == [("127.0.0.1", port)]

    mismatch = refusal(f"https://other.intranet:{port}/rss.xml", settings, resolver=resolver)
    assert mismatch.startswith("no secure connection to other.intranet")
    assert "doesn't match 'feeds.intranet'" in mismatch
    monkeypatch.delenv("SSL_CERT_FILE")
    assert "certificate verify failed" in refusal(f"https://feeds.intranet:{port}/rss.xml", settings, resolver=resolver)


def test_a_few_redirects_are_followed_and_a_longer_chain_is_refused(feed_server):
    settings = allowing(feed_server)
    fetched = fetch_feed(feed_server.root_url + "/hops/3", settings)
    assert fetched.url == feed_server.root_url + "/rss.xml"
    feed_server.reset()

    assert refusal(feed_server.root_url + "/hops/4", settings) == "more than 3 redirects"
    assert len(feed_server.requests) == 4  # the fifth address was never asked for


def test_http_failures_are_reported_in_words(feed_server):
    settings = allowing(feed_server, feed_timeout_seconds=2)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    assert refusal(feed_server.root_url + "/missing.xml", settings) == "127.0.0.1 answered 404 Not Found"
    assert refusal(f"https://127.0.0.1:{feed_server.port}/rss.xml", settings).startswith(
        "no secure connection to 127.0.0.1")
    assert refusal(f"http://127.0.0.1:{port}/rss.xml", Settings(
        _env_file=None, feed_allowed_hosts=f"127.0.0.1:{port}")) == f"could not connect to 127.0.0.1:{port}"
    assert refusal("ftp://feeds.example.com/rss.xml", settings) == "only http and https feeds can be read, not ftp"


def test_feed_settings_have_safe_defaults_and_a_typo_in_the_allow_list_stops_the_start():
    defaults = Settings(_env_file=None)
    assert (defaults.feed_max_bytes, defaults.feed_timeout_seconds) == (2_000_000, 10)
    assert defaults.feed_allowed_destinations == frozenset()

    with pytest.raises(ValueError, match="FEED_ALLOWED_HOSTS: 'feeds.intranet' is not a host:port pair"):
        Settings(_env_file=None, feed_allowed_hosts="127.0.0.1:8080, feeds.intranet")
