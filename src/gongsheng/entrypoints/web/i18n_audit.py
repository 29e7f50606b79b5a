"""Words of the operator's audit page: ``key -> (中文, English)``.

Merged into :data:`gongsheng.entrypoints.web.i18n.TEXT`. An action without a label here is shown
by its dotted name alone.
"""

from __future__ import annotations

AUDIT_TEXT: dict[str, tuple[str, str]] = {
    "act:audit": ("审计日志", "Audit log"),
    "audit:title": ("审计日志：谁在何时做了什么", "Audit log: who did what, when"),
    "audit:note": ("每一项运营操作都在其事务中记录，只可追加，不可修改或删除。时间为 UTC。",
                   "Every operator action is recorded in its own transaction; the log is "
                   "append-only: no record can be changed or deleted. Times are UTC."),
    "audit:at": ("时间", "Time"), "audit:actor": ("操作人", "Actor"),
    "audit:action": ("操作", "Action"), "audit:target": ("对象", "Target"),
    "audit:request": ("请求编号", "Request id"), "audit:changes": ("变更内容", "What changed"),
    "audit:since": ("起（含）", "Since"), "audit:until": ("止（不含）", "Until"),
    "audit:filter": ("筛选", "Filter"), "audit:first": ("最新一页", "Newest"),
    "audit:more": ("更早的记录", "Older records"),
    "action:policy.uploaded": ("上传政策", "Policy uploaded"),
    "action:policy.activated": ("政策生效", "Policy activated"),
    "action:period.closed": ("结算关期", "Period closed"),
    "action:party.registered": ("登记参与方", "Party registered"),
    "action:region.created": ("新建区域", "Region created"),
    "action:merchant.rate_changed": ("修改让利率", "Concession rate changed"),
    "action:approval.decided": ("审核商家", "Approval decided"),
    "action:invitation.issued": ("发出邀请", "Invitation issued"),
    "action:payout.made": ("提现", "Payout made"),
    "action:term.ended": ("结束任期", "Term ended"),
    "action:webhook.created": ("新建 Webhook", "Webhook created"),
    "action:webhook.deleted": ("删除 Webhook", "Webhook deleted"),
    "action:webhook.secret_rotated": ("更换 Webhook 密钥", "Webhook secret rotated"),
    "action:webhook.delivery_retried": ("重发 Webhook", "Webhook delivery retried"),
    "action:account.created": ("创建账户", "Account created"),
    "action:account.disabled": ("停用账户", "Account disabled"),
    "action:account.enabled": ("启用账户", "Account enabled"),
    "action:account.password_reset": ("重置密码", "Password reset"),
    "action:account.password_changed": ("修改密码", "Password changed"),
    "action:order.refunded": ("运营退款", "Order refunded by an operator"),
    "action:party.frozen": ("冻结参与方", "Party frozen"),
    "action:party.unfrozen": ("解冻参与方", "Party unfrozen"),
    "action:case.opened": ("立案", "Case opened"),
    "action:case.noted": ("案件备注", "Case note added"),
    "action:case.status_changed": ("案件进入调查", "Case status changed"),
    "action:case.decided": ("案件裁定", "Case decided"),
    "action:party.identifiers_registered": ("登记自有支付标识", "Own identifiers registered"),
    "action:apikey.created": ("创建 API 密钥", "API key created"),
    "action:apikey.revoked": ("吊销 API 密钥", "API key revoked"),
    "action:account.demo_logins_created": ("创建演示账户", "Demo logins created"),
}
