"""Supplier pages: the public directory and profile pages, the supplier's own profile in
sections, challenge alerts, and the platform admin's CSV import of suppliers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from marketplace import access, reference
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.suppliers import (
    SECTIONS,
    SECTIONS_BY_SLUG,
    AlertForm,
    CpvForm,
    ImportForm,
    ProfileSectionForm,
    Section,
    size_hint_items,
)
from marketplace.models import (
    CERTIFICATION_LABELS,
    SIZE_LABELS,
    Organisation,
    SupplierProfile,
    User,
)
from marketplace.services import suppliers as service
from marketplace.services.errors import ServiceError
from marketplace.services.suppliers import IMPORT_COLUMNS, DirectoryParams
from marketplace.templating import pagination_params
from marketplace.views import flash_error

bp = Blueprint("suppliers", __name__)

EDITORS = service.EDITOR_ROLES
MAX_QUERY = 200
MAX_PAGE = 100_000
CPV_RESULTS = 30


def _actor() -> User:
    return current_user._get_current_object()


def _viewer() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


# The directory -------------------------------------------------------------------------------

def _int(value: str | None, default: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


def parse_params(args: MultiDict[str, str]) -> DirectoryParams:
    """Directory parameters from the query string; anything unknown is ignored."""
    q = " ".join((args.get("q") or "").split())[:MAX_QUERY]
    region = reference.normalise_region(args.get("region") or "")
    size = args.get("size") if args.get("size") in SIZE_LABELS else None
    certification = args.get("certification")
    if certification not in CERTIFICATION_LABELS or certification == "other":
        certification = None
    division = (args.get("division") or "").strip()
    if division not in {d.division for d in reference.cpv_divisions()}:
        division = ""
    page = min(max(_int(args.get("page"), 1), 1), MAX_PAGE)
    return DirectoryParams(q=q, region=region, size=size, certification=certification,
                           division=division or None, page=page)


def query_args(params: DirectoryParams, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"q": params.q, "region": params.region, "size": params.size,
                              "certification": params.certification,
                              "division": params.division, "page": params.page}
    values.update(changes)
    if values["page"] == 1:
        values["page"] = None
    return {k: v for k, v in values.items() if v not in (None, "")}


def pagination(result: service.DirectoryPage) -> dict[str, Any] | None:
    """Parameters for the GOV.UK pagination component, keeping the filters in each link."""
    return pagination_params(
        result.page, result.pages,
        lambda page: url_for("suppliers.index", **query_args(result.params, page=page)))


def active_filters(params: DirectoryParams) -> list[str]:
    found = []
    if params.region:
        found.append(params.region)
    if params.size:
        found.append(SIZE_LABELS[params.size][0])
    if params.certification:
        found.append(CERTIFICATION_LABELS[params.certification])
    if params.division:
        found.append(reference.division_label(params.division))
    return found


@bp.get("/suppliers")
@access.public
def index():
    params = parse_params(request.args)
    result = service.directory(params)
    return render_template(
        "suppliers/index.html", result=result, params=params, regions=reference.REGIONS,
        sizes=SIZE_LABELS, divisions=reference.cpv_divisions(),
        certifications={k: v for k, v in CERTIFICATION_LABELS.items() if k != "other"},
        pagination=pagination(result), filters_used=active_filters(params),
        today=service.uk_today())


@bp.get("/suppliers/<int:supplier_id>")
@access.public
def detail(supplier_id: int):
    viewer = _viewer()
    profile = service.public_profile(supplier_id, viewer)
    return render_template(
        "suppliers/detail.html", profile=profile, organisation=profile.organisation,
        listed=service.is_listed(profile.organisation), sizes=SIZE_LABELS,
        can_edit=service.can_edit(viewer, supplier_id), today=service.uk_today())


# The supplier's own profile ------------------------------------------------------------------

@bp.get("/supplier/profile")
@access.roles(*EDITORS, kind="supplier")
def profile():
    org, own = service.own_profile(_actor())
    return render_template(
        "suppliers/profile.html", organisation=org, profile=own, sections=SECTIONS,
        listed=service.is_listed(org), today=service.uk_today(), sizes=SIZE_LABELS,
        matching=service.matching_challenges_for(own) if own is not None else [])


def _section_or_404(slug: str) -> Section:
    section = SECTIONS_BY_SLUG.get(slug)
    if section is None:
        abort(404)
    return section


def _build_form(section: Section, org: Organisation, own: SupplierProfile | None
                ) -> ProfileSectionForm:
    form = section.form() if request.method == "POST" else section.form(
        data=section.form.initial(org, own))
    if isinstance(form, CpvForm):
        if request.method == "GET":
            form.q.data = (request.args.get("q") or "").strip()[:100]
        query = (form.q.data or "").strip()
        results = reference.search_cpv(query, CPV_RESULTS) if query else []
        form.set_choices(list(own.cpv_codes or []) if own else [], results)
        form.cpv_results = results  # type: ignore[attr-defined]
    return form


def _render_section(section: Section, form: ProfileSectionForm, org: Organisation,
                    status_code: int = 200):  # type: ignore[no-untyped-def]
    return render_template("suppliers/section.html", section=section, form=form,
                           organisation=org, size_hints=size_hint_items()), status_code


@bp.route("/supplier/profile/<section>", methods=["GET", "POST"])
@access.roles(*EDITORS, kind="supplier")
def edit_section(section: str):
    chosen = _section_or_404(section)
    actor = _actor()
    org, own = service.own_profile(actor)
    form = _build_form(chosen, org, own)
    if request.method == "POST" and isinstance(form, CpvForm) and form.search.data:
        # The CPV search button: show the results, keeping what was ticked, without saving.
        return _render_section(chosen, form, org)
    if not form.validate_on_submit():
        return _render_section(chosen, form, org, 400 if request.method == "POST" else 200)
    try:
        service.update_profile(actor, org.id, form.to_changes())
    except ServiceError as err:
        form.apply_error(err)
        return _render_section(chosen, form, org, 400)
    flash(f"{chosen.title} saved", "success")
    return redirect(url_for("suppliers.profile"))


# Alerts --------------------------------------------------------------------------------------

def _render_alerts(form: AlertForm, status_code: int = 200):  # type: ignore[no-untyped-def]
    alerts = service.alerts_for(_actor())
    return render_template(
        "suppliers/alerts.html", form=form, alerts=alerts, confirm=ConfirmForm(),
        summaries={a.id: service.alert_summary(a) for a in alerts},
        max_alerts=service.MAX_ALERTS), status_code


@bp.route("/supplier/alerts", methods=["GET", "POST"])
@access.roles(kind="supplier")
def alerts():
    form = AlertForm()
    if not form.validate_on_submit():
        return _render_alerts(form, 400 if request.method == "POST" else 200)
    try:
        service.create_alert(_actor(), form.keywords.data or "", list(form.regions.data or []),
                             list(form.divisions.data or []))
    except ServiceError as err:
        form.apply_error(err)
        return _render_alerts(form, 400)
    flash("Alert created. We will email you once a day when new challenges match it",
          "success")
    return redirect(url_for("suppliers.alerts"))


@bp.post("/supplier/alerts/<int:alert_id>/delete")
@access.roles(kind="supplier")
def delete_alert(alert_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.delete_alert(_actor(), alert_id)
    except ServiceError as err:
        flash_error(err)
    else:
        flash("Alert deleted", "success")
    return redirect(url_for("suppliers.alerts"))


# Import (platform admins) --------------------------------------------------------------------

@bp.route("/admin/suppliers/import", methods=["GET", "POST"])
@access.platform_admin
def import_suppliers():
    form = ImportForm()
    report = None
    status_code = 200
    if request.method == "POST":
        status_code = 400
        if form.validate_on_submit():
            try:
                content = form.csv_content()
            except ValueError as exc:
                form.csv_file.errors = [*form.csv_file.errors, str(exc)]
            else:
                dry_run = not form.run.data
                try:
                    report = service.import_suppliers(_actor(), content, dry_run=dry_run)
                except ServiceError as err:
                    form.apply_error(err)
                else:
                    if report.imported:
                        flash(f"Imported {len(report.rows)} suppliers: {report.to_create} "
                              f"added and {report.to_update} updated", "success")
                        return redirect(url_for("suppliers.import_suppliers"))
                    status_code = 200 if report.ok else 400
    return render_template("admin/suppliers_import.html", form=form, report=report,
                           columns=IMPORT_COLUMNS, sizes=SIZE_LABELS), status_code
