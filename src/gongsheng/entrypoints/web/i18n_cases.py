"""Words of the abuse-case pages and the detectors' flags: ``key -> (中文, English)``.

Merged into :data:`gongsheng.entrypoints.web.i18n.TEXT`.
"""

from __future__ import annotations

CASE_TEXT: dict[str, tuple[str, str]] = {
    "act:cases": ("风险案件", "Abuse cases"),
    "cases:title": ("风险案件", "Abuse cases"),
    "cases:none": ("暂无案件", "No cases"),
    "cases:detector": ("来源", "Source"), "cases:summary": ("摘要", "Summary"),
    "cases:status": ("状态", "Status"), "cases:opened": ("立案", "Opened"),
    "cases:decided_by": ("决定人", "Decided by"), "cases:parties": ("涉及方", "Parties"),
    "cases:orders": ("涉及订单", "Orders"), "cases:notes": ("备注", "Notes"),
    "cases:flags": ("风险提示", "Flags"), "cases:role": ("角色", "Role"),
    "cases:case": ("案件", "Case"), "cases:move": ("处理", "Decide"),
    "cases:note": ("备注（可选）", "Note (optional)"), "cases:add_note": ("添加备注", "Add note"),
    "cases:refund": ("按正常退款流程退还全部涉案订单", "Refund every order of the case (normal refund path)"),
    "cases:freeze": ("冻结", "Freeze"),
    "cases:confirm_text": ("确认此案件？勾选的退款与冻结将立即执行。",
                           "Confirm this case? The refunds and freezes ticked are made at once."),
    "cases:decision": ("决定", "Decision"), "cases:refunds": ("退款", "Refunds"),
    "cases:frozen": ("已冻结", "Frozen"), "cases:decided": ("此案件已结案。", "This case is decided."),
    "cases:back": ("返回案件列表", "Back to the cases"),
    "status:open": ("待处理", "open"), "status:investigating": ("调查中", "investigating"),
    "status:confirmed": ("已确认", "confirmed"), "status:dismissed": ("已排除", "dismissed"),
    "move:investigating": ("开始调查", "Investigate"), "move:confirmed": ("确认违规", "Confirm"),
    "move:dismissed": ("排除", "Dismiss"),
    "detector:manual": ("人工立案", "opened by hand"),
    "flag:wash_trading": ("刷单（与商家共用支付工具/设备）",
                          "wash trading (shares the merchant's instrument or device)"),
    "flag:wash_ring": ("刷单团伙（共用支付工具/设备）", "wash-trading ring (shared instruments or devices)"),
    "flag:self_referral_ring": ("自我推荐（与推荐人共用支付工具/设备）",
                                "self-referral (shares an instrument or device with the referrer)"),
    "flag:circular_trading": ("商家间循环交易", "circular trading between merchants"),
    "flag:manual": ("人工立案", "opened by hand"),
}
