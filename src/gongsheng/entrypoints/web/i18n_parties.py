"""Words of the pages where parties act (joining, paying, signing, ...): ``key -> (中文, English)``.

Merged into :data:`gongsheng.entrypoints.web.i18n.TEXT`.
"""

from __future__ import annotations

PARTY_TEXT: dict[str, tuple[str, str]] = {
    # the actions bar
    "act:wallet": ("我的积分", "My points"), "act:pay": ("付款码", "Pay code"),
    "act:store": ("共享股东", "Store units"), "act:cashier": ("收银", "Cashier"),
    "act:orders": ("订单与退款", "Orders and refunds"),
    "act:mstore": ("共享股东计划", "Shareholder programmes"),
    "act:figures": ("经营数据", "Figures"), "act:sign": ("签约商家", "Sign a merchant"),
    "act:team": ("我的团队", "My team"), "act:dashboard": ("看板", "Dashboard"),
    "act:signings": ("商家审核", "Merchant approvals"), "act:parties": ("参与方", "Parties"),
    "act:partners": ("合伙人与任期", "Partners and terms"), "act:password": ("修改密码", "Change password"),
    "act:only_party": ("只有该参与方本人可以在此操作。", "Only the party itself acts here."),
    "search": ("搜索", "Search"), "all": ("全部", "All"), "invite": ("发送邀请", "Invite"),
    "approve": ("批准", "Approve"), "reject": ("拒绝", "Reject"),
    "pager:label": ("翻页（最新在前）", "Pages, newest first"), "pager:newest": ("最新", "Newest"),
    "pager:newer": ("← 较新", "← Newer"), "pager:older": ("较早 →", "Older →"),
    "part:platform_fee": ("　平台服务费", "  platform fee"),
    # joining
    "join:title": ("注册成为消费者", "Join as a consumer"),
    "join:from_merchant": ("您由此商家推荐：", "Brought in by"),
    "join:referred": ("推荐码：", "Referral code:"),
    "join:free": ("注册免费，无任何入会费用。", "Joining is free: there is no fee of any kind."),
    "join:name": ("称呼", "Your name"), "join:submit": ("注册并登录", "Join and sign in"),
    "join:have_login": ("已有账号？去登录", "Have a login? Sign in"),
    "join:link": ("我的推荐链接", "My referral link"),
    "join:link_note": ("好友扫码或打开链接注册，其首单金额的 5% 作为积分奖励给您（仅一级）。",
                       "A friend who joins from this link or QR code earns you points worth 5% of "
                       "their first order (one level only)."),
    # invitations
    "invite:title": ("设置您的登录", "Set up your login"),
    "invite:once": ("此邀请链接只能使用一次，有效期至", "This link works once, until"),
    "invite:submit": ("设置密码并登录", "Set password and sign in"),
    "issued:title": ("邀请链接已生成", "Invitation link"),
    "issued:once": ("请把此链接（或二维码）交给对方；它只显示这一次，只能使用一次，有效期至",
                    "Give this link (or QR code) to its owner: it is shown only now, works once, "
                    "and expires at"),
    "issued:no_password": ("平台不会发送或显示任何密码：对方打开链接后自行设置。",
                           "The platform never sends or shows a password: its owner sets one from "
                           "the link."),
    # password
    "password:note": ("修改后所有已登录的设备都需要重新登录。",
                      "After the change every signed-in device must sign in again."),
    "password:current": ("当前密码", "Current password"), "password:new": ("新密码", "New password"),
    "password:repeat": ("再次输入新密码", "New password again"),
    "password:submit": ("修改密码", "Change password"),
    "password:mismatch": ("两次输入的新密码不一致", "the two new passwords differ"),
    # pay code
    "pay:issued": ("付款码已生成，本单最多可用抵用券", "Pay code issued: this sale may use vouchers up to"),
    "pay:expires": ("有效至", "valid until"),
    "pay:member_only": ("这是您的会员码：收银员输入后本单不使用抵用券，仍为您累积积分。",
                        "This is your member code: a sale entered with it uses no vouchers and "
                        "still earns you points."),
    "pay:show_cashier": ("请向收银员出示二维码或读出号码。付款码一次有效，几分钟后失效。",
                         "Show the QR code or read the number to the cashier. A pay code works "
                         "once and expires in a few minutes."),
    "pay:allow": ("允许本单使用抵用券", "Allow vouchers for one sale"),
    "pay:amount": ("最多使用（元）", "At most (yuan)"),
    "pay:cap_note": ("实际使用不超过该渠道的抵用比例上限。",
                     "The sale uses no more than the channel's voucher share allows."),
    "pay:submit": ("生成付款码", "Issue pay code"),
    "pay:over_balance": ("超过了您的抵用券余额", "that is more than your vouchers"),
    # store (consumer)
    "store:programmes": ("可兑换的共享股东计划", "Programmes with units on offer"),
    "store:held": ("我持有的份额", "Units held"), "store:units": ("份数", "Units"),
    "store:quote": ("试算", "Quote"), "store:confirm": ("确认兑换", "Confirm the exchange"),
    "store:cost": ("需要积分", "Costs points"),
    "store:available": ("可用（尚未释放）", "available (not yet releasing)"),
    "store:forfeit": ("兑换后这些积分将不再释放抵用券，放弃的释放上限为",
                      "These points will release no vouchers any more: the cap you give up is"),
    "store:confirm_button": ("确认兑换", "Exchange"),
    "store:not_feasible": ("积分或剩余份额不足，无法兑换。", "Not enough unreleased points or units left."),
    "store:exchanged": ("已兑换份额：", "Units exchanged:"),
    # cashier
    "cashier:amount": ("金额（元）", "Amount (yuan)"),
    "cashier:code": ("消费者付款码或会员码", "Consumer's pay code or member code"),
    "cashier:code_note": ("扫描消费者页面上的二维码，或输入其显示的号码。",
                          "Scan the QR code on the consumer's page, or type the number it shows."),
    "cashier:no_vouchers": ("本店不收抵用券：本单只记积分。",
     "This store takes no vouchers: the sale earns points only."),
    "cashier:submit": ("收款", "Ring up"), "cashier:withdraw_amount": ("提现金额（元）", "Withdraw (yuan)"),
    "cashier:withdraw": ("申请提现", "Request withdrawal"), "cashier:withdrawn": ("已提现", "Withdrawn"),
    "cashier:acquisition": ("拓客二维码", "Acquisition QR code"),
    "cashier:acquisition_note": ("顾客扫码注册后，其在其他商家的消费为本店带来拓客奖励。",
                                 "Customers who join from this code earn this store an acquisition "
                                 "reward on what they spend at other merchants."),
    # receipt, orders
    "receipt:title": ("收款小票", "Receipt"),
    "receipt:replayed": ("这张表单已提交过：显示的是第一次的结果，没有重复收款。",
                         "This form was already submitted: this is its first result; nothing was "
                         "charged twice."),
    "receipt:cash": ("现金支付", "Paid in cash"),
    "receipt:consumer_points": ("消费者获得积分", "Consumer's points"),
    "receipt:merchant_points": ("商家获得积分", "Merchant's points"),
    "receipt:referrer_points": ("推荐人获得积分", "Referrer's points"),
    "receipt:refund": ("退款", "Refund"), "receipt:refund_amount": ("退款金额（元）", "Refund (yuan)"),
    "receipt:refunded_now": ("已退款", "Refunded"), "receipt:next": ("下一单", "Next sale"),
    # merchant store
    "mstore:open": ("开设共享股东计划", "Open a programme"),
    "mstore:unit_price": ("每份所需积分", "Points per unit"), "mstore:units": ("发行份数", "Units on offer"),
    "mstore:share": ("利润分享比例", "Share of profit"),
    "mstore:profit": ("本期利润（元）", "This period's profit (yuan)"),
    "mstore:declare": ("申报利润并分配", "Declare and distribute"),
    "mstore:confirm": ("每期只能申报一次，确定吗？", "A period's profit is declared once. Declare it?"),
    "mstore:opened": ("计划已开设。", "Programme opened."),
    "mstore:declared": ("利润已申报，份额持有人将获得抵用券。",
     "Profit declared: unit holders receive vouchers."),
    # signing
    "sign:concession_rate": ("让利比例（空：按品类默认）", "Concession rate (empty: the category's default)"),
    "sign:bm_rate": ("商务经理佣金比例（占销售额）", "BM contract rate (of sales)"),
    "sign:accepts_vouchers": ("接受抵用券", "Accepts vouchers"),
    "sign:submit": ("提交签约（待审核）", "Sign (for approval)"),
    "sign:preview": ("按此费率的让利分配", "The split at these rates"),
    "sign:example": ("示例订单", "Example order"), "sign:to_pool": ("空缺，入池", "vacant, to the pool"),
    "sign:points_each": ("消费者与商家各得积分", "Points to consumer and to merchant, each"),
    "sign:preview_note": ("随输入实时计算；不可行的合同会被拒绝并说明原因。",
                          "Computed as you type; an infeasible contract is refused with the reason."),
    "sign:mine": ("签约记录", "Signings"),
    "sign:reason": ("原因", "Reason"), "sign:signer": ("签约人", "Signed by"),
    "sign:done": ("已提交，等待平台审核：商家", "Signed, waiting for approval: merchant"),
    "status:pending": ("待审核", "pending"), "status:approved": ("已批准", "approved"),
    "status:rejected": ("已拒绝", "rejected"),
    # team, partners
    "team:invite": ("邀请地推人员", "Invite a promoter"), "team:ended": ("任期已结束于", "term ended in"),
    "partners:term": ("任期", "Term"), "partners:agreed": ("约定", "agreed"),
    "partners:end": ("结束任期", "End term"), "partners:closed": ("已结束", "ended"),
    "partners:confirm_end": ("结束后该区域的合伙人分红自下一单起进入分红池。确定吗？",
                             "From the next order the region's partner share goes to the pool. "
                             "End the term?"),
    "partners:ended": ("任期已结束：合伙人", "Term ended: partner"),
    "partners:assign": ("指定区域合伙人", "Assign a partner to a region"),
    "partners:investment": ("投资额（元）", "Investment (yuan)"),
    "partners:term_periods": ("任期（期数，可空）", "Term in periods (optional)"),
    # holds and freezes
    "cash_held": ("冻结期内（暂不可提现）", "Held (not yet withdrawable)"),
    "cash_available": ("可提现", "Available to withdraw"),
    "freeze:state": ("冻结", "Freeze"), "freeze:frozen": ("已冻结", "Frozen"),
    "freeze:freeze": ("冻结", "Freeze"), "freeze:unfreeze": ("解除冻结", "Unfreeze"),
    "freeze:reason": ("冻结原因", "Reason"),
    "vouchers_withheld": ("待解冻发放的抵用券", "Vouchers waiting for the unfreeze"),
    "freeze:banner": ("此账户已冻结审核中：暂停交易、用券与提现，收益照常累积。",
                      "This account is frozen for review: sales, voucher spending and withdrawals "
                      "are paused; earnings keep accruing."),
}

__all__ = ["PARTY_TEXT"]
