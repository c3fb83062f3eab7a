"""Error messages in the run's language (public names).

The library raises its errors in English (they are also read by programs and logs). At the
command line, :func:`translate` turns the message of an error into French when the run is in
French (the default, or ``--lang fr``). One table of patterns, tried in order; the first that
matches the whole message wins. A message with no pattern stays in English, so nothing is lost.

Each pattern names its parts; the French template reuses them, and a part that is itself a
message (``rest``) is translated in turn.
"""

from __future__ import annotations

import re

__all__ = ["PATTERNS", "translate"]

_P = r"(?P<path>.+?)"

#: (English pattern, French template), tried in order.
PATTERNS: list[tuple[str, str]] = [
    (rf"{_P}: file not found", "{path} : fichier introuvable"),
    (rf"{_P}: the file is empty", "{path} : le fichier est vide"),
    (rf"{_P}: the sheet is empty", "{path} : la feuille est vide"),
    (rf"{_P}: not a text table \(binary file\?\)", "{path} : ce n'est pas un tableau texte (fichier binaire ?)"),
    (rf"{_P}: is a folder, not a file", "{path} : c'est un dossier, pas un fichier"),
    (rf"{_P}: no header line", "{path} : aucune ligne d'en-tête"),
    (rf"{_P}: mapping file not found", "{path} : fichier de correspondance introuvable"),
    (rf"{_P}: no sheet (?P<sheet>.+); sheets are: (?P<names>.+)",
     "{path} : pas de feuille {sheet} ; les feuilles sont : {names}"),
    (rf"{_P}: no supported file in this folder \(expected (?P<what>.+)\)",
     "{path} : aucun fichier pris en charge dans ce dossier (attendu : {what})"),
    (rf"{_P}: cannot read the file \((?P<why>.+)\)", "{path} : impossible de lire le fichier ({why})"),
    (rf"{_P}: cannot decode the file as (?P<enc>\S+) \((?P<why>.+)\)",
     "{path} : impossible de décoder le fichier en {enc} ({why})"),
    (rf"{_P}: invalid JSON at line (?P<line>\d+), column (?P<col>\d+): (?P<why>.+)",
     "{path} : JSON invalide ligne {line}, colonne {col} : {why}"),
    (rf"{_P}: invalid YAML(?P<rest>.*)", "{path} : YAML invalide{rest}"),
    (rf"{_P}: more than (?P<value>[\d,]+) (?P<label>.+?)(?P<seen> \([\d,]+\))?; this is a safety limit, "
     r"raise it with --limit (?P<name>\w+)=N(?P<tail>.*)",
     "{path} : plus de {value} {label}{seen} ; c'est une limite de sécurité, relevez-la avec "
     "--limit {name}=N{tail}"),
    (r"unknown funder id '(?P<value>.*?)'(?P<hint>.*)", "identifiant de financeur inconnu « {value} »{hint}"),
    (r"unknown project id '(?P<value>.*?)'(?P<hint>.*)", "identifiant de projet inconnu « {value} »{hint}"),
    (r"unknown call id for funder (?P<funder>\S+) '(?P<value>.*?)'(?P<hint>.*)",
     "appel « {value} » inconnu pour le financeur {funder}{hint}"),
    (r"unknown call id of funder '(?P<funder>.*?)' '(?P<value>.*?)'(?P<hint>.*)",
     "appel « {value} » inconnu pour le financeur {funder}{hint}"),
    (r"unknown (?P<kind>projects|funders|history) field '(?P<value>.*?)'(?P<hint>.*)",
     "champ inconnu « {value} » ({kind}){hint}"),
    (r"no usable (?P<what>\S+) in '(?P<path>.*)' \((?P<n>\d+) row\(s\) rejected\)",
     "aucun {what} utilisable dans « {path} » ({n} ligne(s) rejetée(s))"),
    (r"'(?P<path>.*)' is an input of this command; choose another output file \(the input would be overwritten\)",
     "« {path} » est une entrée de cette commande ; choisissez un autre fichier de sortie "
     "(l'entrée serait écrasée)"),
    (r"'(?P<path>.*)' is an input of this command; choose another output folder",
     "« {path} » est une entrée de cette commande ; choisissez un autre dossier de sortie"),
    (r"folder '(?P<path>.*)' does not exist", "le dossier « {path} » n'existe pas"),
    (r"'(?P<path>.*)' is a folder; give a file name", "« {path} » est un dossier ; donnez un nom de fichier"),
    (r"cannot write '(?P<path>.*)': '(?P<other>.*)' is a file, not a folder",
     "impossible d'écrire « {path} » : « {other} » est un fichier, pas un dossier"),
    (r"cannot write in folder '(?P<path>.*)' \(permission denied\)",
     "impossible d'écrire dans le dossier « {path} » (permission refusée)"),
    (r"cannot write '(?P<path>.*?)': the file name is too long \(at most (?P<n>\d+) bytes\)",
     "impossible d'écrire « {path} » : le nom de fichier est trop long ({n} octets au plus)"),
    (r"cannot write '(?P<path>.*)' \((?P<why>.*)\)", "impossible d'écrire « {path} » ({why})"),
    (r"cannot tell the output format of '(?P<path>.*)' \(known extensions: (?P<known>.*)\)",
     "format de sortie inconnu pour « {path} » (extensions connues : {known})"),
    (r"unknown output format '(?P<fmt>.*)'", "format de sortie inconnu « {fmt} »"),
    (r"--format xlsx needs -o FILE\.xlsx", "--format xlsx demande -o FICHIER.xlsx"),
    (r"--map expects field=Column, got '(?P<got>.*)'", "--map attend champ=Colonne, reçu « {got} »"),
    (r"--weight expects criterion=number, got '(?P<got>.*)'", "--weight attend critère=nombre, reçu « {got} »"),
    (r"--date: invalid date: '(?P<got>.*)'(?P<rest>.*)", "--date : date invalide : « {got} »{rest}"),
    (r"--limit expects NAME=N with N > 0 and NAME one of (?P<names>.*?), got (?P<got>.*)",
     "--limit attend NOM=N avec N > 0 et NOM parmi {names}, reçu {got}"),
    (r"no column maps to (?P<field>\S+)(?P<rest>.*)", "aucune colonne ne correspond à {field}{rest}"),
    (r"cannot map (?P<field>\S+) to column '(?P<col>.*?)': no such column; available columns: (?P<cols>.*)",
     "impossible d'associer {field} à la colonne « {col} » : cette colonne n'existe pas ; "
     "colonnes disponibles : {cols}"),
    (r"bad weights:(?P<rest>.*)", "poids invalides :{rest}"),
]

#: Hints appended by :func:`matcher.core.suggest.unknown_message`.
_HINTS: list[tuple[str, str]] = [
    (r"; did you mean (?P<names>.*)\?$", " ; vouliez-vous dire {names} ?"),
    (r"; known: (?P<names>.*?)(?P<more>, … \((?P<n>[\d,]+) in all\))?$", " ; connus : {names}{more}"),
    (r"; there is none$", " ; il n'y en a aucun"),
    (r" \((?P<n>[\d,]+) known\)$", " ({n} connus)"),
]

_WORDS = {"project": "projet", "funder": "financeur", "history": "historique", "projects": "projets",
          "funders": "financeurs"}

_COMPILED = [(re.compile(p, re.DOTALL), t) for p, t in PATTERNS]
_HINTS_COMPILED = [(re.compile(p, re.DOTALL), t) for p, t in _HINTS]


def _hint_fr(hint: str) -> str:
    for pattern, template in _HINTS_COMPILED:
        found = pattern.fullmatch(hint)
        if found:
            parts = {k: v or "" for k, v in found.groupdict().items()}
            if parts.get("more"):
                parts["more"] = f", … ({parts['n']} en tout)"
            return template.format(**parts)
    return hint


def translate(message: str, lang: str) -> str:
    """``message`` in ``lang``: French when a pattern knows it, else unchanged."""
    if lang != "fr":
        return message
    for pattern, template in _COMPILED:
        found = pattern.fullmatch(message)
        if found:
            parts = {k: v or "" for k, v in found.groupdict().items()}
            if "what" in parts:
                parts["what"] = _WORDS.get(parts["what"], parts["what"])
            if "hint" in parts:
                parts["hint"] = _hint_fr(parts["hint"])
            if "rest" in parts and parts["rest"].startswith(": "):
                parts["rest"] = " : " + translate(parts["rest"][2:], lang)
            return template.format(**parts)
    return message
