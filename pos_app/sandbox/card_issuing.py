"""Card issuing in the sandbox: image upload (multipart), template create/modify/query, the open-card form.

Checks follow the SDK models (AlipayMarketingCardTemplateCreateModel and friends); where the sources do
not say, the choice is written down in docs/sandbox.md (image limit 5 MB, formats jpg/jpeg/png/gif/bmp).
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any

from pos_app.domain.card_template import WRITE_OFF_TYPES, image_kind

from .base import Reply, SandboxError, fail, ok
from .cards import CardRules

__all__ = ["CARD_ISSUING_METHODS", "CardIssuingRules", "IMAGE_MAX_BYTES", "image_kind"]

CARD_ISSUING_METHODS = (
    "alipay.offline.material.image.upload",
    "alipay.marketing.card.template.modify",
    "alipay.marketing.card.template.query",
    "alipay.marketing.card.formtemplate.set",
    "alipay.marketing.card.activateurl.apply",
    "alipay.system.oauth.token",
    "alipay.marketing.card.activateform.query",
)
IMAGE_MAX_BYTES = 5 * 1024 * 1024
FORM_FIELDS = ("OPEN_FORM_FIELD_MOBILE", "OPEN_FORM_FIELD_GENDER", "OPEN_FORM_FIELD_NAME", "OPEN_FORM_FIELD_BIRTHDAY",
               "OPEN_FORM_FIELD_BIRTHDAY_WITH_YEAR", "OPEN_FORM_FIELD_IDCARD", "OPEN_FORM_FIELD_CERT_TYPE",
               "OPEN_FORM_FIELD_CERT_NO", "OPEN_FORM_FIELD_EMAIL", "OPEN_FORM_FIELD_ADDRESS", "OPEN_FORM_FIELD_CITY",
               "OPEN_FORM_FIELD_IS_STUDENT", "OPEN_FORM_FIELD_MEMBER_GRADE")
_TEMPLATE_KEYS = ("card_type", "biz_no_prefix", "biz_no_suffix_len", "write_off_type", "template_style_info",
                  "column_info_list", "field_rule_list", "card_level_conf", "template_benefit_info",
                  "card_action_list", "open_card_conf", "mdcode_notify_conf", "pub_channels", "shop_ids",
                  "service_label_list", "spi_app_id", "template_form_config", "access_version", "card_spec_tag")


def _bad(what: str) -> Reply:
    return fail("INVALID_PARAMETER", f"参数无效：{what}")


class CardIssuingRules(CardRules):
    """The issuing methods on top of the shared state (images and form templates live in ``meta``)."""

    def card_issuing(self, method: str, app_id: str, biz: Mapping[str, Any], params: Mapping[str, str],
                     files: Mapping[str, tuple[str, bytes]]) -> Reply:
        if method == "alipay.offline.material.image.upload":
            return self.image_upload(app_id, params, files)
        if method == "alipay.marketing.card.template.modify":
            return self.template_modify(app_id, biz)
        if method == "alipay.marketing.card.template.query":
            return self.template_query(app_id, biz)
        if method == "alipay.marketing.card.activateurl.apply":
            return self.activateurl_apply(app_id, biz)
        if method == "alipay.system.oauth.token":
            return self.oauth_token(app_id, params)
        if method == "alipay.marketing.card.activateform.query":
            return self.activateform_query(app_id, biz, params.get("auth_token"))
        return self.formtemplate_set(app_id, biz)

    # --- images ---------------------------------------------------------------------------------

    def image_upload(self, app_id: str, params: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]) -> Reply:
        image_type = (params.get("image_type") or "").lower()
        name = params.get("image_name") or ""
        if image_type not in ("jpg", "jpeg", "png", "gif", "bmp"):
            return _bad("image_type 必须是 jpg、jpeg、png、gif 或 bmp")
        if not name:
            return _bad("image_name 不能为空")
        if "image_content" not in files:
            return _bad("image_content 不能为空（multipart 文件）")
        data = files["image_content"][1]
        if not data:
            return _bad("image_content 为空")
        if len(data) > IMAGE_MAX_BYTES:
            return fail("FILE_SIZE_EXCEED", "图片大小超过5M限制")
        kind = image_kind(data)
        if kind is None:
            return fail("IMAGE_FORMAT_ERROR", "文件不是图片")
        if kind != ("jpg" if image_type == "jpeg" else image_type):
            return fail("IMAGE_FORMAT_ERROR", f"图片格式与 image_type 不符（文件是 {kind}）")
        image_id = secrets.token_urlsafe(18)
        images = dict(self.meta.get("images", {}))
        images[image_id] = {"app_id": app_id, "name": name, "type": kind, "bytes": len(data)}
        self._meta("images", images)
        return ok(image_id=image_id, image_url=f"https://sandbox.invalid/image/{image_id}")

    # --- templates ------------------------------------------------------------------------------

    def _image_known(self, app_id: str, image_id: Any) -> bool:
        entry = self.meta.get("images", {}).get(image_id) if isinstance(image_id, str) else None
        return entry is not None and entry["app_id"] == app_id

    def check_template(self, app_id: str, biz: Mapping[str, Any], *, create: bool) -> Reply | None:
        """The first problem of a create/modify body, or None."""
        if create and biz.get("card_type") != "OUT_MEMBER_CARD":
            return _bad("card_type 必须是 OUT_MEMBER_CARD")
        if create or "write_off_type" in biz:
            if biz.get("write_off_type") not in WRITE_OFF_TYPES:
                return _bad(f"write_off_type 必须是 {'/'.join(WRITE_OFF_TYPES)} 之一")
        prefix = biz.get("biz_no_prefix")
        if prefix is not None and (not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9]{1,10}", prefix)):
            return _bad("biz_no_prefix 为 1-10 位字母或数字")
        suffix = biz.get("biz_no_suffix_len")
        if suffix is not None and (not str(suffix).isdigit() or not 6 <= int(str(suffix)) <= 30):
            return _bad("biz_no_suffix_len 为 6-30")
        style = biz.get("template_style_info")
        if create or style is not None:
            if not isinstance(style, Mapping):
                return _bad("template_style_info 不能为空")
            for key in ("card_show_name", "logo_id", "background_id", "bg_color"):
                if not isinstance(style.get(key), str) or not style.get(key):
                    return _bad(f"template_style_info.{key} 不能为空")
            if len(str(style["card_show_name"])) > 12:
                return _bad("template_style_info.card_show_name 不超过12个字符")
            if not re.fullmatch(r"rgb\(\d{1,3},\d{1,3},\d{1,3}\)", str(style["bg_color"])):
                return _bad("template_style_info.bg_color 格式为 rgb(r,g,b)")
            for key in ("logo_id", "background_id"):
                if not self._image_known(app_id, style[key]):
                    return fail("IMAGE_NOT_EXIST", f"图片不存在：{key}（先调用 alipay.offline.material.image.upload）")
        rules = biz.get("field_rule_list")
        if create or rules is not None:
            if not isinstance(rules, list) or not rules:
                return _bad("field_rule_list 不能为空")
            for r in rules:
                if not isinstance(r, Mapping) or r.get("field_name") not in (
                        "Balance", "Point", "Level", "OpenDate", "ValidDate") or r.get("rule_name") not in (
                        "ASSIGN_FROM_REQUEST", "DATE_IN_FUTURE", "CONST"):
                    return _bad("field_rule_list 的 field_name/rule_name 无效")
        for c in biz.get("column_info_list") or []:
            if not isinstance(c, Mapping) or not c.get("code") or not c.get("title"):
                return _bad("column_info_list 每项需要 code 和 title")
            if c.get("operate_type") not in (None, "openNative", "openWeb", "staticinfo"):
                return _bad("column_info_list.operate_type 无效")
        for lv in biz.get("card_level_conf") or []:
            if not isinstance(lv, Mapping) or not lv.get("level") or not lv.get("level_show_name"):
                return _bad("card_level_conf 每项需要 level 和 level_show_name")
        conf = biz.get("open_card_conf")
        if conf is not None:
            if not isinstance(conf, Mapping) or conf.get("open_card_source_type") not in ("ISV", "MER"):
                return _bad("open_card_conf.open_card_source_type 为 ISV 或 MER")
            if not conf.get("source_app_id"):
                return _bad("open_card_conf.source_app_id 不能为空")
            url = conf.get("open_card_url")
            if not isinstance(url, str) or not re.match(r"^https?://", url) or "?" in url:
                return _bad("open_card_conf.open_card_url 为不带参数的 http(s) 地址")
        return None

    def _store_template_fields(self, tid: str, biz: Mapping[str, Any]) -> None:
        tpl = self.templates[tid]
        for key in _TEMPLATE_KEYS:
            if key in biz:
                tpl[key] = biz[key]
        if "biz_no_suffix_len" in biz:
            tpl["biz_no_suffix_len"] = int(str(biz["biz_no_suffix_len"]))
        self._dirty("template", tid, tpl)

    def template_create_checked(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.marketing.card.template.create through the gateway: every field checked, idempotent."""
        request_id = biz.get("request_id")
        if not isinstance(request_id, str) or not request_id or len(request_id) > 64:
            return _bad("request_id 不能为空，且不超过64位")
        for tpl in self.templates.values():
            if tpl["request_id"] == request_id:
                return ok(template_id=tpl["template_id"])
        err = self.check_template(app_id, biz, create=True)
        if err is not None:
            return err
        reply = self.template_create(app_id, biz)
        if reply.get("code") == "10000":
            self._store_template_fields(str(reply["template_id"]), biz)
        return dict(reply)

    def _own_template(self, app_id: str, biz: Mapping[str, Any]) -> tuple[dict[str, Any] | None, Reply | None]:
        tid = biz.get("template_id")
        if not isinstance(tid, str) or not tid:
            return None, _bad("template_id 不能为空")
        tpl = self.templates.get(tid)
        if tpl is None or tpl.get("app_id") not in (app_id, "sandbox"):
            return None, fail("TEMPLATE_NOT_EXIST", "模板不存在")
        return tpl, None

    def template_modify(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        tpl, err = self._own_template(app_id, biz)
        if err is not None or tpl is None:
            return err or fail("TEMPLATE_NOT_EXIST", "模板不存在")
        if not isinstance(biz.get("request_id"), str) or not biz.get("request_id"):
            return _bad("request_id 不能为空")
        if "card_type" in biz:
            return _bad("card_type 不能修改")
        err = self.check_template(app_id, biz, create=False)
        if err is not None:
            return err
        done = tpl.setdefault("modify_requests", [])
        if biz["request_id"] not in done:
            done.append(biz["request_id"])
            self._store_template_fields(tpl["template_id"], biz)
        return ok(template_id=tpl["template_id"])

    def template_query(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        tpl, err = self._own_template(app_id, biz)
        if err is not None or tpl is None:
            return err or fail("TEMPLATE_NOT_EXIST", "模板不存在")
        out = {k: tpl[k] for k in _TEMPLATE_KEYS if k in tpl and k != "card_level_conf"}
        if "card_level_conf" in tpl:
            out["card_level_confs"] = tpl["card_level_conf"]
        out["biz_no_suffix_len"] = str(tpl.get("biz_no_suffix_len", ""))
        if tpl.get("form_fields") is not None:
            out["template_form_config"] = tpl["form_fields"]
        return ok(template_id=tpl["template_id"], **out)

    def formtemplate_set(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        tpl, err = self._own_template(app_id, biz)
        if err is not None or tpl is None:
            return err or fail("TEMPLATE_NOT_EXIST", "模板不存在")
        fields: Any = biz.get("fields")
        if isinstance(fields, str):
            try:
                fields = json.loads(fields)
            except ValueError:
                return _bad("fields 不是合法的JSON")
        if not isinstance(fields, Mapping) or not fields.get("required"):
            return _bad("fields.required 不能为空")
        seen: set[str] = set()
        for part in ("required", "optional"):
            block = fields.get(part)
            if block is None:
                continue
            common = block.get("common_fields") if isinstance(block, Mapping) else None
            if not isinstance(common, list) or (part == "required" and not common):
                return _bad(f"fields.{part}.common_fields 必须是非空列表")
            for name in common:
                if name not in FORM_FIELDS:
                    return _bad(f"fields.{part}.common_fields 含未知字段 {name}")
                if name in seen:
                    return _bad(f"字段 {name} 重复")
                seen.add(name)
        tpl["form_fields"] = json.loads(json.dumps(fields))
        self._dirty("template", tpl["template_id"], tpl)
        return ok()

    # --- activation URL -------------------------------------------------------------------------

    def activateurl_apply(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.marketing.card.activateurl.apply: the URL behind the shop's join QR (URL-encoded, as Alipay's)."""
        tpl, err = self._own_template(app_id, {"template_id": biz.get("template_id")})
        if err is not None or tpl is None:
            return err or fail("TEMPLATE_NOT_EXIST", "模板不存在")
        callback = biz.get("callback")
        if callback is not None and (not isinstance(callback, str) or not re.match(r"^https?://", callback)
                                     or "?" in callback):
            return _bad("callback 为不带参数的 http(s) 地址")
        if tpl.get("open_card_conf") and not callback:
            callback = tpl["open_card_conf"].get("open_card_url")
        query = {"template_id": tpl["template_id"], "app_id": app_id, "callback": callback or "",
                 "out_string": str(biz.get("out_string") or "")}
        base = getattr(self, "base_url", "http://127.0.0.1")
        url = f"{base}/card/apply?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        return ok(apply_card_url=urllib.parse.quote(url, safe=""))

    # --- the customer's side of joining (the activation page) and the historical mode's calls ----

    def join_session(self, app_id: str, template_id: str, *, mobile: str, name: str, user_id: str = "",
                     out_string: str = "") -> dict[str, Any]:
        """The customer filled Alipay's form on the activation page: a session with an auth code."""
        with self.lock:
            tpl = self.templates.get(template_id)
            if tpl is None or tpl.get("app_id") not in (app_id, "sandbox"):
                raise SandboxError(f"no template {template_id!r} of this app")
            if not user_id:
                user_id = "2088" + str(int.from_bytes(mobile.encode(), "big") % 10**12).rjust(12, "0")
            session = {"app_id": app_id, "template_id": template_id, "user_id": user_id,
                       "request_id": "REQ" + secrets.token_hex(10), "auth_code": secrets.token_hex(16),
                       "access_token": "", "used": False, "out_string": out_string,
                       "form": [{"OPEN_FORM_FIELD_MOBILE": mobile}, *([{"OPEN_FORM_FIELD_NAME": name}] if name else [])],
                       "express": bool(tpl.get("spi_app_id")),
                       "callback": (tpl.get("open_card_conf") or {}).get("open_card_url", "")}
            sessions = dict(self.meta.get("join_sessions", {}))
            sessions[session["auth_code"]] = session
            self._meta("join_sessions", sessions)
            self.flush()
            return dict(session)

    def _session_by(self, key: str, value: str) -> dict[str, Any] | None:
        return next((s for s in self.meta.get("join_sessions", {}).values() if value and s.get(key) == value), None)

    def oauth_token(self, app_id: str, params: Mapping[str, str]) -> Reply:
        if params.get("grant_type") != "authorization_code":
            return fail("isv.grant-type-invalid", "不支持的grant_type", code="40002")
        session = self._session_by("auth_code", params.get("code", ""))
        if session is None or session["app_id"] != app_id or session["used"]:
            return fail("isv.code-invalid", "授权码code无效", code="40002")
        sessions = dict(self.meta["join_sessions"])
        session = {**session, "used": True, "access_token": "authusr" + secrets.token_hex(16)}
        sessions[session["auth_code"]] = session
        self._meta("join_sessions", sessions)
        return ok(access_token=session["access_token"], user_id=session["user_id"], expires_in=1296000,
                  re_expires_in=2592000, refresh_token="refresh" + secrets.token_hex(8))

    def activateform_query(self, app_id: str, biz: Mapping[str, Any], auth_token: str | None) -> Reply:
        session = self._session_by("access_token", auth_token or "")
        if session is None or session["app_id"] != app_id:
            return fail("isv.invalid-auth-token", "无效的访问令牌", code="40002")
        if biz.get("biz_type") != "MEMBER_CARD":
            return _bad("biz_type 必须是 MEMBER_CARD")
        if biz.get("template_id") != session["template_id"] or biz.get("request_id") != session["request_id"]:
            return fail("FORM_NOT_EXIST", "开卡表单不存在")
        return ok(infos=json.dumps(session["form"], ensure_ascii=False))
