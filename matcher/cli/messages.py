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

from matcher.core import suggest

__all__ = ["PATTERNS", "USAGE_PATTERNS", "lang_in_args", "translate", "translate_usage", "usage_hint"]

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
    (r"--format table prints to the terminal; use (?P<fmts>.*) with -o",
     "--format table affiche dans le terminal ; utilisez {fmts} avec -o"),
    (r"--format (?P<fmt>\S+) is not available for this command",
     "--format {fmt} n'est pas disponible pour cette commande"),
    # workspaces
    (r"no workspace at '(?P<path>.*)'; create it with '(?P<cmd>.*)'",
     "pas d'espace de travail à « {path} » ; créez-le avec « {cmd} »"),
    (r"with --url, WS is the name \(a file\) bound to the URL", "avec --url, WS est le nom (un fichier) lié à l'URL"),
    (r"'(?P<path>.*)' already exists", "« {path} » existe déjà"),
    (r"unknown kind '(?P<value>.*)'; expected one of (?P<names>.*)", "type inconnu « {value} » ; attendu : {names}"),
    (r"no such file or folder: '(?P<path>.*)'", "fichier ou dossier introuvable : « {path} »"),
    (r"the decision file lacks the column\(s\) (?P<cols>.*) \(expected: (?P<names>.*)\)",
     "il manque au fichier de décisions la ou les colonnes {cols} (attendues : {names})"),
    (r"(?P<bad>\d+) row\(s\) of (?P<n>\d+) refused in '(?P<path>.*)': nothing was recorded",
     "{bad} ligne(s) sur {n} refusée(s) dans « {path} » : rien n'a été enregistré"),
    (r"no run (?P<run>\S+) in this workspace", "pas de calcul {run} dans cet espace de travail"),
    (r"give both --run A and --run B, or neither \(the last two runs of the same command and target\)",
     "donnez --run A et --run B, ou aucun des deux (les deux derniers calculs de la même commande et cible)"),
    (r"--run A --run B name the runs: drop --command and --target",
     "--run A --run B désignent les calculs : retirez --command et --target"),
    (r"this workspace has no run yet: rank with --workspace first",
     "cet espace de travail n'a encore aucun calcul : classez d'abord avec --workspace"),
    (r"no run of (?P<asked>.*) in this workspace \(runs: (?P<known>.*)\)",
     "aucun calcul de {asked} dans cet espace de travail (calculs : {known})"),
    (r"only one run of (?P<what>.*): nothing to compare \(run it again after an import, or give --run A --run B\)",
     "un seul calcul de {what} : rien à comparer (relancez-le après un import, ou donnez --run A --run B)"),
    (r"unknown field '(?P<value>.*)' \(expected one of (?P<names>.*)\)",
     "champ inconnu « {value} » (attendu : {names})"),
    (r"unknown 360Giving value '(?P<value>.*)' \(expected one of (?P<names>.*)\)",
     "valeur 360Giving inconnue « {value} » (attendu : {names})"),
    (r"(?P<name>\S+) must be one of (?P<names>.*), not '(?P<value>.*)'",
     "{name} doit être l'une des valeurs {names}, pas « {value} »"),
    (r"(?P<name>\S+): '(?P<value>.*)' does not match (?P<pattern>.*)",
     "{name} : « {value} » ne correspond pas au motif {pattern}"),
    (r"'(?P<path>.*)' is a folder, not a workspace", "« {path} » est un dossier, pas un espace de travail"),
    (r"'(?P<path>.*)' is neither an SQLite workspace nor a workspace pointer \(url: …\)",
     "« {path} » n'est ni un espace de travail SQLite ni un pointeur d'espace de travail (url: …)"),
    (r"unsupported workspace URL '(?P<url>.*)' \(use an SQLite file path or postgresql://…\)",
     "URL d'espace de travail non prise en charge « {url} » (donnez un chemin de fichier SQLite ou postgresql://…)"),
    (r"PostgreSQL workspaces need the 'postgres' extra \(pip install 'coopmatch\[postgres\]'\): (?P<why>.*)",
     "les espaces de travail PostgreSQL demandent l'extra « postgres » (pip install 'coopmatch[postgres]') : {why}"),
    (r"this database has tables but no coopmatch schema version: not a workspace",
     "cette base a des tables mais pas de version de schéma coopmatch : ce n'est pas un espace de travail"),
    (r"this database is not a workspace yet; create it with '(?P<cmd>.*)'",
     "cette base n'est pas encore un espace de travail ; créez-le avec « {cmd} »"),
    (r"this workspace has schema version (?P<rev>\S+), newer than this coopmatch knows \(up to (?P<known>\S+)\): "
     r"upgrade coopmatch to open it",
     "cet espace de travail a la version de schéma {rev}, plus récente que celles que connaît ce coopmatch "
     "(jusqu'à {known}) : mettez coopmatch à jour pour l'ouvrir"),
    (r"this workspace has schema version (?P<rev>\S+) and needs migrating to (?P<known>\S+)",
     "cet espace de travail a la version de schéma {rev} et doit être migré vers {known}"),
    (r"(?P<n>\d+) project id\(s\) of --project-ids not in workspace (?P<path>.*?): (?P<shown>.*)",
     "{n} identifiant(s) de projet de --project-ids absent(s) de l'espace de travail {path} : {shown}"),
    (r"(?P<n>\d+) project id\(s\) of --project-ids not in (?P<path>.*?): (?P<shown>.*)",
     "{n} identifiant(s) de projet de --project-ids absent(s) de {path} : {shown}"),
    (r"workspace (?P<path>.*) has no (?P<what>project|funder) yet: (?P<cmd>.*)",
     "l'espace de travail {path} n'a encore aucun {what} : {cmd}"),
    (r"'(?P<path>.*)' has no project_id column \(or give a \.txt file, one id per line\)",
     "« {path} » n'a pas de colonne project_id (ou donnez un fichier .txt, un identifiant par ligne)"),
    (r"no project id in '(?P<path>.*)'", "aucun identifiant de projet dans « {path} »"),
    # usage mistakes of coopmatch's own commands (exit 2)
    (r"(?P<opt>--map|--mapping-file) is read by validate and normalize, not by this command: run "
     r"'coopmatch normalize projects FILE --map FIELD=COLUMN -o canon\.csv' first, then rank canon\.csv",
     "{opt} est lu par validate et normalize, pas par cette commande : lancez d'abord "
     "« coopmatch normalize projects FICHIER --map CHAMP=COLONNE -o canon.csv », puis classez canon.csv"),
    (r"--file takes the decisions from the file: no --project/--funder/--status",
     "--file prend les décisions dans le fichier : pas de --project/--funder/--status"),
    (r"missing (?P<names>.*) \(or give (?P<alt>--file|--workspace WS)\)", "il manque {names} (ou donnez {alt})"),
    (r"give both --project and --funder for a trail, or neither",
     "donnez --project et --funder pour un historique, ou aucun des deux"),
    (r"give --run twice \(A then B\), or not at all", "donnez --run deux fois (A puis B), ou pas du tout"),
    (r"cannot tell the format of '(?P<path>.*)': give --format (?P<fmts>.*)",
     "format inconnu pour « {path} » : donnez --format {fmts}"),
    (r"--value expects FIELD=VALUE, got '(?P<got>.*)'", "--value attend CHAMP=VALEUR, reçu « {got} »"),
    (r"--workspace reads the profiles from the workspace: drop (?P<names>.*)",
     "--workspace lit les profils dans l'espace de travail : retirez {names}"),
]

#: Click's own usage messages (exit 2), English regex -> French template; ``inner`` is translated in turn.
USAGE_PATTERNS: list[tuple[str, str]] = [
    (r"Missing option (?P<p>.+?)\.(?P<rest>.*)", "Option {p} manquante.{rest}"),
    (r"Missing argument (?P<p>.+?)\.(?P<rest>.*)", "Argument {p} manquant.{rest}"),
    (r"Missing parameter (?P<p>.+?)\.(?P<rest>.*)", "Paramètre {p} manquant.{rest}"),
    (r"Invalid value for (?P<p>.+?): (?P<inner>.*)", "Valeur invalide pour {p} : {inner}"),
    (r"No such option (?P<o>'.*?')\. \(Did you mean one of: (?P<names>.*)\?\)",
     "Option inconnue {o}. (Vouliez-vous dire l'une de : {names} ?)"),
    (r"No such option (?P<o>'.*?')\. \(Did you mean (?P<names>.*)\?\)",
     "Option inconnue {o}. (Vouliez-vous dire {names} ?)"),
    (r"No such option (?P<o>'.*?')\.", "Option inconnue {o}."),
    (r"No such option: (?P<o>.*)", "Option inconnue : {o}"),
    (r"Option (?P<o>'.*?') requires an argument\.", "L'option {o} attend une valeur."),
    (r"Option (?P<o>'.*?') requires (?P<n>\d+) arguments\.", "L'option {o} attend {n} valeurs."),
    (r"Option (?P<o>'.*?') does not take a value\.", "L'option {o} ne prend pas de valeur."),
    (r"Got unexpected extra arguments? \((?P<a>.*)\)", "Argument(s) en trop : {a}"),
    (r"No such command (?P<c>'.*?')\.", "Commande inconnue {c}."),
    (r"Missing command\.", "Commande manquante."),
    # the messages of Click's parameter types (after "Invalid value for …: ")
    (r"(?P<v>.+?) is not a valid integer range\.", "{v} n'est pas un nombre entier valide."),
    (r"(?P<v>.+?) is not a valid (?:integer|float|float range)\.", "{v} n'est pas un nombre valide."),
    (r"(?P<v>.+?) is not in the range (?P<r>.*)\.", "{v} n'est pas dans l'intervalle {r}."),
    (r"(?P<v>.+?) is not one of (?P<c>.*)\.", "{v} n'est pas l'une des valeurs {c}."),
    (r"(?P<v>.+?) is not a valid boolean\. Recognized values: (?P<s>.*)",
     "{v} n'est pas un booléen valide. Valeurs reconnues : {s}"),
    (r"(?:File|Directory|Path) (?P<f>'.*') does not exist\.", "Le chemin {f} n'existe pas."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is a file\.", "{f} est un fichier."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is a directory\.", "{f} est un dossier."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is not readable\.", "{f} n'est pas lisible."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is not writable\.", "{f} n'est pas accessible en écriture."),
]

#: The hints of :func:`matcher.core.suggest.unknown_message` in English, read back (most specific first).
_HINTS = [(kind, re.compile(p, re.DOTALL)) for kind, p in (
    ("close", r"; did you mean (?P<names>.*)\?"), ("none", r"; there is none"),
    ("some", r"; known: (?P<names>.*), … \((?P<n>[\d,]+) in all\)"), ("all", r"; known: (?P<names>.*)"),
    ("count", r" \((?P<n>[\d,]+) known\)"), ("", r""))]
_UNKNOWN = re.compile(r"unknown (?P<what>call id of funder '.*?'|[^']+?) '(?P<value>.*?)'(?P<hint>(?:;| \().*)?",
                      re.DOTALL)

_WORDS = {"project": "projet", "funder": "financeur", "history": "historique", "projects": "projets",
          "funders": "financeurs"}

_COMPILED = [(re.compile(p, re.DOTALL), t) for p, t in PATTERNS]
_USAGE = [(re.compile(p, re.DOTALL), t) for p, t in USAGE_PATTERNS]


def _unknown_fr(message: str) -> str | None:
    """An :func:`~matcher.core.suggest.unknown_message` read back and written in French (None: not one)."""
    found = _UNKNOWN.fullmatch(message)
    if not found:
        return None
    name = suggest.what_label(found["what"], "fr")
    if name.startswith("unknown "):
        return None
    for kind, pattern in _HINTS:
        hint = pattern.fullmatch(found["hint"] or "")
        if hint:
            parts = {"names": "", "n": "", **{k: v or "" for k, v in hint.groupdict().items()}}
            parts["n"] = parts["n"].replace(",", "\u202f")
            tail = suggest.HINTS[kind]["fr"].format(**parts) if kind else ""
            return f"{name} {suggest.quoted(found['value'], 'fr')}{tail}"
    return None


def translate(message: str, lang: str) -> str:
    """``message`` in ``lang``: French when a pattern knows it, else unchanged."""
    if lang != "fr":
        return message
    unknown = _unknown_fr(message)
    if unknown is not None:
        return unknown
    for pattern, template in _COMPILED:
        found = pattern.fullmatch(message)
        if found:
            parts = {k: v or "" for k, v in found.groupdict().items()}
            if "what" in parts:
                parts["what"] = _WORDS.get(parts["what"], parts["what"])
            if "rest" in parts and parts["rest"].startswith(": "):
                parts["rest"] = " : " + translate(parts["rest"][2:], lang)
            return template.format(**parts)
    return message


def translate_usage(message: str, lang: str) -> str:
    """A Click usage message (missing option, bad value, no such option…) in ``lang``; else unchanged."""
    if lang != "fr":
        return message
    for pattern, template in _USAGE:
        found = pattern.fullmatch(message)
        if found:
            parts = {k: v or "" for k, v in found.groupdict().items()}
            if parts.get("inner"):
                parts["inner"] = translate_usage(parts["inner"], lang)
            if parts.get("rest"):
                parts["rest"] = parts["rest"].replace("Choose from:", "Choisir parmi :")
            return template.format(**parts)
    return translate(message, lang)


def usage_hint(command_path: str, option: str, lang: str) -> str:
    """The line after the usage: ``Try 'coopmatch x --help' for help.`` in ``lang``."""
    if lang == "fr":
        return f"Essayez « {command_path} {option} » pour l'aide."
    return f"Try '{command_path} {option}' for help."


def lang_in_args(args, default: str) -> str:
    """The ``--lang`` of a command line not parsed yet (a usage error may come before it is read)."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args) and args[i + 1] in ("fr", "en"):
            return args[i + 1]
        if arg in ("--lang=fr", "--lang=en"):
            return arg.split("=", 1)[1]
    return default
