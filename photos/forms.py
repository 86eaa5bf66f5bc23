from typing import Any

from django import forms
from django.http import QueryDict

from photos.models import Run
from photos.services import filters, results


class UploadForm(forms.Form):
    # A plain FileField: the photo service does the image checks, with messages written for users.
    image = forms.FileField(label="Photo")
    mode = forms.ChoiceField(choices=Run.Mode.choices, initial=Run.Mode.MATCH)
    context = forms.CharField(
        max_length=500,
        required=False,
        label="Anything to add?",
        widget=forms.TextInput(attrs={"placeholder": "e.g. our wedding, a rainy Sunday, road trip"}),
    )


class MoodForm(forms.Form):
    """A mood set on the results page's map: valence and arousal on the map's (word) scale, 0-1."""

    valence = forms.FloatField(min_value=0.0, max_value=1.0)
    arousal = forms.FloatField(min_value=0.0, max_value=1.0)


class FilterForm(forms.Form):
    """Filters on the tracks a run may recommend; the choices are what the active catalogue has."""

    genres = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    energy_min = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="Energy from")
    energy_max = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="to")
    tempo_min = forms.FloatField(required=False, min_value=0.0, max_value=300.0, label="Tempo (BPM) from")
    tempo_max = forms.FloatField(required=False, min_value=0.0, max_value=300.0, label="to")
    decade = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    language = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, choices: dict[str, list[Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["genres"].choices = [(g, g) for g in choices["genres"]]
        fields["decade"].choices = [("", "Any decade"), *((d, f"{d}s") for d in choices["decades"])]
        fields["language"].choices = [("", "Any language"), *((x, x) for x in choices["languages"])]
        for name in ("energy_min", "energy_max"):
            self.fields[name].widget.attrs.update(step="0.05", min="0", max="1")
        for name in ("tempo_min", "tempo_max"):
            self.fields[name].widget.attrs.update(step="1", min="0", max="300")


def rerun_options(data: QueryDict, run: Run) -> dict[str, Any]:
    """create_run's mode, top_k, mood and filters for a new run of this run's photo, from the results
    page's forms: the mode toggle, "more" (a longer run, same mood and filters), the mood map (a chosen
    mood) and the filters (keeping the chosen mood). ValueError with a message for the user."""
    mode = data.get("mode") or run.mode
    more = bool(data.get("more"))
    options: dict[str, Any] = {
        "mode": mode if mode in Run.Mode.values else run.mode,
        "top_k": run.top_k + results.web_top_k() if more else run.top_k,
        "mood": run.chosen_mood if more or "filters" in data else None,
        "filters": run.filters,
    }
    if "filters" in data:
        form = FilterForm({} if data.get("clear") else data, choices=filters.choices())
        try:
            if not form.is_valid():
                raise ValueError(" ".join(str(e) for errors in form.errors.values() for e in errors))
            options["filters"] = filters.clean(form.cleaned_data)
        except ValueError as exc:
            raise ValueError(f"Those filters were not understood: {exc}") from exc
    if "valence" in data or "arousal" in data:
        mood = MoodForm(data)
        if not mood.is_valid():
            raise ValueError("That mood was not understood: valence and arousal go from 0 to 1.")
        options["mood"] = results.mood_from_map(mood.cleaned_data["valence"], mood.cleaned_data["arousal"])
    return options
