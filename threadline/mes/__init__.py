"""The MES face (mes-api-reference.txt) under ``/mes``: one room per part of the shop.

``face.py`` holds the face's conventions, ``resources.py`` the declarative resources served by
them; each room (``people``, ``shop``, ``process``, ``files``, ``demand``, ``crosscut``) has its
``models.py`` (ORM), ``resources.py`` (the reference's fields), ``service.py`` (rules) and
``api.py`` (its router).
"""
