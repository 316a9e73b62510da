"""Reading hostile and broken mail: nothing raises, what can be read is kept."""

import io
import zipfile
from email import policy
from email.message import EmailMessage

from tests.channels.email.conftest import mail
from touchpoint.channels.email.loops import automatic_reason, failed_delivery
from touchpoint.channels.email.parsing import parse
from touchpoint.channels.email.quotes import strip_quoted_html, strip_quotes


def test_a_plain_mail():
    parsed = parse(mail(headers={"In-Reply-To": "<x@acme.test>", "References": "<a@b.c> <x@acme.test>"}))
    assert (parsed.mail_id, parsed.from_address, parsed.from_name) == ("m1@example.com", "maria@example.com", "Maria Lopez")
    assert (parsed.subject, parsed.text.strip()) == ("Order 1042", "Where is my order?")
    assert (parsed.in_reply_to, parsed.references) == (["x@acme.test"], ["a@b.c", "x@acme.test"])


def test_text_and_html_alternatives_are_both_read():
    parsed = parse(mail(text="Hi *there*", html="<p>Hi <b>there</b></p>"))
    assert parsed.text.strip() == "Hi *there*"
    assert parsed.html.strip() == "<p>Hi <b>there</b></p>"


def test_wrong_and_unknown_charsets_fall_back():
    raw = (b"From: a@example.com\r\nSubject: =?x-klingon?q?Caf=E9?=\r\nMessage-ID: <c@example.com>\r\n"
           b"Content-Type: text/plain; charset=x-klingon\r\n\r\nCaf\xe9 cr\xe8me\r\n")
    parsed = parse(raw)
    assert parsed.text.strip() == "Café crème"
    assert "Caf" in parsed.subject
    declared_utf8 = raw.replace(b"x-klingon", b"utf-8")  # Latin-1 bytes under a UTF-8 label
    assert parse(declared_utf8).text.strip() == "Café crème"
    codec_not_charset = raw.replace(b"x-klingon", b"zlib")  # a Python codec that is not a text encoding
    assert parse(codec_not_charset).text.strip() == "Café crème"


def test_broken_boundaries_and_headers_never_crash():
    samples = [
        b"",
        b"\xff\xfe\x00garbage",
        b"From: x\r\nContent-Type: multipart/mixed; boundary=\"Q\"\r\n\r\n--Q\r\nContent-Type: text/plain\r\n\r\ncut short",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"From: <<<>>>@@\r\nSubject: =?utf-8?b?!!!?=\r\nTo: ,,,;;\r\nReferences: <<>> <a@b\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 3000,
        b"Content-Type: text/plain; charset=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
        b"From: a@example.com\r\n" + b"X-Long: " + b"x" * 200_000 + b"\r\n\r\nbody",
    ]
    for raw in samples:
        parsed = parse(raw)
        assert parsed.mail_id  # a digest when the mail names none
    assert parse(samples[2]).text.strip() == "cut short"


def test_part_count_is_capped(settings):
    settings.EMAIL_MAX_PARTS = 20
    message = EmailMessage()
    message["From"] = "a@example.com"
    message.set_content("hi")
    for n in range(100):
        message.add_attachment(b"x", maintype="text", subtype="plain", filename=f"f{n}.txt")
    parsed = parse(message.as_bytes())
    assert len(parsed.files) < 20


def test_attachments_inline_images_and_refused_types():
    raw = mail(files=[("invoice.pdf", "application/pdf", b"%PDF-1.4"), ("tool.exe", "application/x-msdownload", b"MZ"),
                      ("scan", "application/octet-stream", b"\x00\x01")])
    parsed = parse(raw)
    assert [(f.filename, f.content_type) for f in parsed.files] == [("invoice.pdf", "application/pdf")]
    assert {d["filename"] for d in parsed.dropped} == {"tool.exe", "scan"}

    related = EmailMessage()
    related["From"] = "a@example.com"
    related.set_content("see the photo")
    related.add_alternative('<p>see <img src="cid:photo1"></p>', subtype="html")
    related.get_payload()[1].add_related(b"\x89PNG\r\n", maintype="image", subtype="png", cid="<photo1>")
    inline = parse(related.as_bytes())
    assert [f.content_type for f in inline.files] == ["image/png"]


def test_an_oversized_attachment_is_dropped_with_a_note(settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    parsed = parse(mail(files=[("big.pdf", "application/pdf", b"%" * 5000), ("small.pdf", "application/pdf", b"%PDF")]))
    assert [f.filename for f in parsed.files] == ["small.pdf"]
    assert parsed.dropped[0]["filename"] == "big.pdf" and "limit" in parsed.dropped[0]["reason"]


def test_a_zip_bomb_is_kept_as_the_small_file_it_is():
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (200 * 1024 * 1024))  # 200 MB inside...
    data = bomb.getvalue()
    assert len(data) < 300 * 1024  # ...about 200 KB outside
    parsed = parse(mail(files=[("bomb.zip", "application/zip", data)]))
    assert [(f.filename, f.data) for f in parsed.files] == [("bomb.zip", data)]


def test_attached_mail_is_not_read_as_the_body():
    inner = mail(text="the forwarded text", message_id="<inner@example.com>")
    outer = EmailMessage()
    outer["From"] = "a@example.com"
    outer.set_content("my own words")
    outer.add_attachment(inner, maintype="message", subtype="rfc822")
    parsed = parse(outer.as_bytes(policy=policy.SMTP))
    assert parsed.text.strip() == "my own words"


# ---- quoted history and signatures --------------------------------------------------------------


def test_gmail_style_reply():
    text = "Yes, the blue one.\n\nOn Tue, 3 Jan 2025 at 10:00, Acme Support <\nsupport@acme.test> wrote:\n> Which one?\n"
    assert strip_quotes(text) == "Yes, the blue one."


def test_outlook_reply_and_original_message_block():
    outlook = "Thanks\r\n\r\n________________________________\r\nFrom: Acme <support@acme.test>\r\nSent: Tuesday\r\nTo: me\r\n"
    assert strip_quotes(outlook) == "Thanks"
    original = "Fine.\n\n-----Original Message-----\nFrom: Acme\nSent: Monday\n\nold"
    assert strip_quotes(original) == "Fine."
    bare = "Noted.\n\nFrom: Acme Support <support@acme.test>\nSent: Monday, 2 Jan\nSubject: Re: x\n"
    assert strip_quotes(bare) == "Noted."


def test_inline_answers_keep_the_answers_and_lose_the_quotes():
    text = "> Size?\nLarge\n> Colour?\nBlue"
    assert strip_quotes(text) == "Large\nBlue"


def test_signatures():
    assert strip_quotes("See you\n-- \nMaria Lopez\nCEO") == "See you"
    assert strip_quotes("Ok\n\nSent from my iPhone") == "Ok"
    assert strip_quotes("Ok\nGet Outlook for Android") == "Ok"


def test_a_sentence_starting_with_on_is_not_history():
    text = "On Monday I ordered a lamp.\nIt has not arrived."
    assert strip_quotes(text) == text


def test_nothing_left_keeps_the_text():
    assert strip_quotes("> only a quote") == "> only a quote"


def test_html_history_is_cut():
    gmail = '<div>Yes</div><div class="gmail_quote"><div>On Tue, Ana wrote:</div><blockquote>old</blockquote></div>'
    assert strip_quoted_html(gmail) == "<div>Yes</div>"
    outlook = '<p>Ok</p><div id="divRplyFwdMsg"><b>From:</b> Acme</div>'
    assert strip_quoted_html(outlook) == "<p>Ok</p>"
    apple = "<div>Sure</div><div><br><div>On 3 Jan 2025, at 10:00, Ana &lt;a@acme.test&gt; wrote:</div><blockquote>x"
    assert strip_quoted_html(apple).startswith("<div>Sure</div>") and "wrote" not in strip_quoted_html(apple)


# ---- machines --------------------------------------------------------------------------------------


def _reason(**headers) -> str:
    return automatic_reason(parse(mail(headers=headers)))


def test_automatic_mail_is_recognised():
    assert _reason(**{"Auto-Submitted": "auto-replied"}).startswith("Auto-Submitted")
    assert _reason(**{"Auto-Submitted": "no"}) == ""
    assert _reason(Precedence="bulk") and _reason(Precedence="list") and _reason(Precedence="junk")
    assert _reason(**{"List-Id": "<news.example.com>"}) and _reason(**{"List-Unsubscribe": "<mailto:u@x>"})
    assert _reason(**{"X-Autoreply": "yes"}) and _reason(**{"X-Autorespond": "vacation"})
    assert _reason(**{"Return-Path": "<>"})
    assert _reason() == ""
    assert automatic_reason(parse(mail(sender="MAILER-DAEMON@mx.example.com")))
    assert automatic_reason(parse(mail()), envelope_sender="<>")
    assert automatic_reason(parse(mail()), envelope_sender="maria@example.com") == ""


def dsn(original_id: str, action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: support@acme.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{original_id}-{action}@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="rep"

--rep
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to one or more recipients.

--rep
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; maria@example.com
Action: {action}
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--rep
Content-Type: text/rfc822-headers

From: Desk acme <support@acme.test>
To: maria@example.com
Subject: Re: Order 1042
Message-ID: <{original_id}>

--rep--
""".replace("\n", "\r\n").encode()


def test_a_delivery_report_names_the_failed_mail():
    failed = failed_delivery(parse(dsn("tp9.1@acme.test")).message)
    assert failed.mail_ids == ["tp9.1@acme.test"]
    assert "550 5.1.1 User unknown" in failed.reason
    assert failed_delivery(parse(dsn("tp9.1@acme.test", action="delayed")).message) is None
