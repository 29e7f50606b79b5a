"""Pages where consumers and merchants act: the consumer's pay code and store exchanges; the
merchant's cashier, receipts, refunds, withdrawals, acquisition link and store programmes.

Only the party itself acts here (an admin may look, not act for it). Every form that moves value
carries a key rendered with the page (:func:`forms.form_key`), used as the Idempotency-Key
(scoped by the party), so a double click posts once; each POST answers with a redirect to what
it made, except the pay code, which is shown once in the answer to its POST and never again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongsheng.domain.errors import Forbidden, GongshengError, InsufficientBalance, NotFound
from gongsheng.domain.money import parse_yuan
from gongsheng.entrypoints.api.auth import app_token_key
from gongsheng.entrypoints.api.deps import MAX_ID, PlatformDep
from gongsheng.entrypoints.web import forms, session
from gongsheng.entrypoints.web.i18n import translator
from gongsheng.entrypoints.web.routes import ActingPlatform, PartyId, ViewerDep, WebRoute, render
from gongsheng.services import cashier, pay_codes, store
from gongsheng.services.ordering import get_order
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork, stores_on
from gongsheng.services.wallets import party_kind, wallet
from gongsheng.views import dashboards, reports

router = APIRouter(include_in_schema=False, route_class=WebRoute)
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]
Csrf = Annotated[str, Form(max_length=100)]
Key = Annotated[str, Form(min_length=8, max_length=100)]
Amount = Annotated[str, Form(max_length=20)]


def _look(viewer: session.Viewer, platform: Platform, kind: str, party_id: int) -> None:
    """The viewer may look at this party's page (itself or an admin), which is a ``kind``."""
    viewer.principal.require_own(party_id, "this page")
    if platform.read(lambda conn: party_kind(stores_on(conn), party_id)) != kind:
        raise NotFound(f"party {party_id} is not a {kind}")


def _act(request: Request, viewer: session.Viewer, platform: Platform, kind: str, party_id: int,
         csrf: str | None) -> None:
    """The viewer is this party itself, sending a form of this site."""
    session.check_csrf(viewer, app_token_key(request.app).secret, csrf)
    p = viewer.principal
    if p.role != kind or p.party_id != party_id:
        raise Forbidden(f"only the {kind} itself acts on its own page")


# --- consumer: pay code ----------------------------------------------------------------------

def _pay_page(request: Request, viewer: session.Viewer, platform: Platform, party_id: int,
              issued: pay_codes.IssuedPayCode | None = None, error: str | None = None,
              status: int = 200) -> HTMLResponse:
    def read(uow: UnitOfWork) -> tuple[int, str | None]:
        return (wallet(uow, party_id).vouchers_fen,
                reports.party_profile(uow.conn, party_id).get("referral_code"))

    vouchers, referral = platform.run(read)
    code = issued.code if issued else None
    link = forms.absolute(request, "/join", ref=referral) if referral else None
    return render(request, "pay.html", {
        "party_id": party_id, "vouchers_fen": vouchers, "issued": issued, "error": error,
        "referral_link": link, "referral_qr": forms.qr_svg(link) if link else None,
        "shown": cashier.shown_code(party_id, code),
        "qr": forms.qr_svg(cashier.qr_payload(party_id, code))}, viewer=viewer, status=status)


@router.get("/consumer/{party_id}/pay")
def pay_page(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId) -> HTMLResponse:
    """The consumer's member code, and a form to issue a pay code allowing some of its vouchers."""
    _look(viewer, platform, "consumer", party_id)
    return _pay_page(request, viewer, platform, party_id)


@router.post("/consumer/{party_id}/pay")
def issue_pay_code(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                   allow: Amount, csrf: Csrf = "") -> HTMLResponse:
    """Issue a one-time pay code for up to ``allow`` yuan of vouchers (shown in this answer only)."""
    _act(request, viewer, platform, "consumer", party_id, csrf)
    try:
        fen = forms.fen_of(allow, "voucher amount")
        if fen > platform.run(lambda uow: wallet(uow, party_id).vouchers_fen):
            raise InsufficientBalance(translator(session.language(request, "zh"))("pay:over_balance"))
        minutes = request.app.state.settings.pay_code_minutes
        issued = platform.pay_code(party_id, fen, None, minutes * 60)
    except GongshengError as exc:
        return _pay_page(request, viewer, platform, party_id, error=exc.detail, status=exc.status)
    return _pay_page(request, viewer, platform, party_id, issued)


# --- consumer: the store ---------------------------------------------------------------------

@router.get("/consumer/{party_id}/store")
def consumer_store(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                   programme: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                   units: Annotated[int | None, Query(ge=1, le=10**9)] = None,
                   exchanged: Annotated[int | None, Query(ge=1, le=10**9)] = None) -> HTMLResponse:
    """Programmes on offer, the units held, and (with ``programme`` and ``units``) the quote to
    confirm: the points it costs and the voucher cap they forfeit."""
    _look(viewer, platform, "consumer", party_id)

    def read(uow: UnitOfWork) -> dict[str, Any]:
        conn = uow.conn
        out: dict[str, Any] = {"wallet": wallet(uow, party_id),
                               "programmes": store.open_programmes(conn).items,
                               "held": store.units_of(conn, party_id), "quote": None, "error": None}
        if programme is not None and units is not None:
            try:
                out["quote"] = store.quote_exchange(conn, party_id, programme, units)
            except GongshengError as exc:
                out["error"] = exc.detail
        return out

    data = platform.run(read)
    return render(request, "consumer_store.html", {**data, "party_id": party_id, "key": forms.form_key(),
                                                   "exchanged": exchanged}, viewer=viewer)


@router.post("/consumer/{party_id}/store/exchange")
def exchange(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
             programme: Annotated[int, Form(ge=1, le=MAX_ID)], units: Annotated[int, Form(ge=1, le=10**9)],
             key: Key, csrf: Csrf = "") -> RedirectResponse:
    """Exchange unreleased points for units, as quoted and confirmed."""
    _act(request, viewer, platform, "consumer", party_id, csrf)
    platform.run(store.exchange_keyed, party_id, programme, units, "web:" + key)
    return RedirectResponse(f"/consumer/{party_id}/store?exchanged={units}", status_code=303)


# --- merchant: cashier, receipts, refunds, withdrawals ---------------------------------------

def _cashier_page(request: Request, viewer: session.Viewer, platform: Platform, party_id: int, *,
                  error: str | None = None, amount: str = "", status: int = 200,
                  withdrawn: int | None = None) -> HTMLResponse:
    def read(uow: UnitOfWork) -> dict[str, Any]:
        return {"wallet": wallet(uow, party_id), "profile": reports.party_profile(uow.conn, party_id)}

    data = platform.run(read)
    link = forms.absolute(request, "/join", m=party_id)
    return render(request, "cashier.html", {
        **data, "party_id": party_id, "key": forms.form_key(), "withdraw_key": forms.form_key(),
        "error": error, "amount": amount, "withdrawn": withdrawn, "link": link,
        "qr": forms.qr_svg(link)}, viewer=viewer, status=status)


@router.get("/merchant/{party_id}/cashier")
def cashier_page(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                 withdrawn: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """The cashier (amount and the consumer's code), the withdrawal form, the acquisition QR."""
    _look(viewer, platform, "merchant", party_id)
    return _cashier_page(request, viewer, platform, party_id, withdrawn=withdrawn)


@router.post("/merchant/{party_id}/cashier")
def ring_up(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
            amount: Amount, code: Annotated[str, Form(max_length=80)], key: Key,
            csrf: Csrf = "") -> Response:
    """Place the sale; its receipt. The form's key makes a double submission post one order."""
    _act(request, viewer, platform, "merchant", party_id, csrf)
    try:
        result = platform.run(cashier.sell, party_id, forms.fen_of(amount), code, key)
    except GongshengError as exc:
        return _cashier_page(request, viewer, platform, party_id, error=exc.detail, amount=amount,
                             status=exc.status)
    return RedirectResponse(f"/merchant/{party_id}/orders/{result.order_id}", status_code=303)


def _merchant_order(platform: Platform, party_id: int, order_id: int) -> Any:
    """The order, if it is this merchant's (404 alike for another's and for none)."""
    try:
        _, merchant = platform.read(reports.order_parties, order_id)
    except NotFound:
        merchant = None
    if merchant != party_id:
        raise NotFound(f"order {order_id} does not exist")
    return platform.read(get_order, order_id)


@router.get("/merchant/{party_id}/orders/{order_id}")
def receipt(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
            order_id: OrderId, refunded: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """A sale's receipt: amount, vouchers used, concession, the consumer's points; refund form."""
    _look(viewer, platform, "merchant", party_id)
    order = _merchant_order(platform, party_id, order_id)
    return render(request, "receipt.html", {"party_id": party_id, "order": order, "key": forms.form_key(),
                                            "refunded": refunded}, viewer=viewer)


@router.get("/merchant/{party_id}/orders")
def order_list(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
               before: forms.Before = None, after: forms.After = None) -> HTMLResponse:
    """The merchant's orders, newest first, a page at a time by key, each with a refund form."""
    _look(viewer, platform, "merchant", party_id)
    page = platform.read(lambda c: reports.list_orders(c, merchant_id=party_id, limit=forms.PAGE,
                                                       before=before, after=after, newer=True))
    return render(request, "merchant_orders.html", {
        "party_id": party_id, "orders": page.items, "pager": forms.pager(page, request.url.path),
        "keys": [forms.form_key() for _ in page.items]}, viewer=viewer)


@router.post("/merchant/{party_id}/orders/{order_id}/refund")
def refund(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
           order_id: OrderId, amount: Amount, key: Key, csrf: Csrf = "") -> RedirectResponse:
    """Refund part or all of one of the merchant's sales."""
    _act(request, viewer, platform, "merchant", party_id, csrf)
    _merchant_order(platform, party_id, order_id)
    fen = forms.fen_of(amount, "refund")
    platform.refund(order_id, fen, f"web-refund:{party_id}:{key}")
    return RedirectResponse(f"/merchant/{party_id}/orders/{order_id}?refunded={fen}", status_code=303)


@router.post("/merchant/{party_id}/withdraw")
def withdraw(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
             amount: Amount, key: Key, csrf: Csrf = "") -> Response:
    """Withdraw part of the settlement balance."""
    _act(request, viewer, platform, "merchant", party_id, csrf)
    try:
        fen = forms.fen_of(amount, "withdrawal")
        platform.withdraw(party_id, fen, f"web-payout:{party_id}:{key}")
    except GongshengError as exc:
        return _cashier_page(request, viewer, platform, party_id, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/merchant/{party_id}/cashier?withdrawn={fen}", status_code=303)


# --- merchant: shared-shareholder programmes -------------------------------------------------

@router.get("/merchant/{party_id}/store")
def merchant_store(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                   done: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    """The merchant's programmes with holders and dividends; open one; declare a period's profit."""
    _look(viewer, platform, "merchant", party_id)
    programmes = platform.read(dashboards.share_programmes, party_id)
    return render(request, "merchant_store.html", {
        "party_id": party_id, "programmes": programmes, "done": done,
        "keys": {p["programme_id"]: forms.form_key() for p in programmes}}, viewer=viewer)


@router.post("/merchant/{party_id}/store/open")
def open_programme(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                   unit_price: Annotated[str, Form(max_length=20)],
                   units: Annotated[int, Form(ge=1, le=10**9)],
                   share: Annotated[str, Form(max_length=20)], csrf: Csrf = "") -> RedirectResponse:
    """Open a programme: units at a price in points for a share of profit (a percentage)."""
    _act(request, viewer, platform, "merchant", party_id, csrf)
    price = parse_yuan(unit_price)  # points have two decimals, as yuan have
    platform.run(store.open_programme_for, party_id, price, units, share.strip())
    return RedirectResponse(f"/merchant/{party_id}/store?done=opened", status_code=303)


@router.post("/merchant/{party_id}/store/{programme_id}/profit")
def declare_profit(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                   programme_id: OrderId, profit: Amount, key: Key, csrf: Csrf = "") -> RedirectResponse:
    """Declare this period's profit of a programme; its share goes to unit holders as vouchers."""
    _act(request, viewer, platform, "merchant", party_id, csrf)
    fen = parse_yuan(profit)
    platform.run(store.declare_keyed, party_id, programme_id, fen, "web:" + key)
    return RedirectResponse(f"/merchant/{party_id}/store?done=declared", status_code=303)
