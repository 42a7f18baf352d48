"""Routes of the traceability reports, mounted under /mes by threadline/mes/floor/api.py: the
two resources, and the download of each report's document through its signed links
(``content``: HTML, ``content_json``: JSON)."""

from __future__ import annotations

from fastapi import APIRouter

from threadline.mes.files.api import StoredDocument, mount_content
from threadline.mes.floor.reports import resources, service
from threadline.mes.resources import mount

router = APIRouter()
# The page may show what it holds and nothing else: no script, no request, no frame.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
DOCUMENTS = (
    # ``content``: the HTML page; ``json``: the same report as data (``content_json``)
    StoredDocument(
        "content", "sha256", "file_size", "text/html; charset=utf-8", "html",
        {"Content-Security-Policy": PAGE_POLICY},
    ),
    StoredDocument("json", "json_sha256", "json_file_size", "application/json", "json"),
)  # fmt: skip


for _resource in (resources.traceability_report, resources.material_batch_traceability_report):
    mount(router, _resource)
    for _stored in DOCUMENTS:
        mount_content(
            router, _resource.kind, _resource.model, _stored, not_found=_resource.not_found
        )
assert service.JOB_KIND  # the job's handler is bound to the blob store in threadline/app.py
