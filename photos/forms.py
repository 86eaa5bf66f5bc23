from typing import Any

from django import forms
from django.http import QueryDict

from accounts.models import User
from photos.models import Photo, Run
from photos.services import filters, results


class UploadForm(forms.Form):
    """The photo (a new file, or one already stored: `kept`, when the last try had bad options), the mode
    and the context words. Run options (filters, a chosen mood) are RunOptionsForm's."""

    # A plain FileField: the photo service does the image checks, with messages written for users.
    image = forms.FileField(label="Photo", required=False)
    kept = forms.CharField(required=False, widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=Run.Mode.choices, initial=Run.Mode.MATCH)
    context = forms.CharField(
        max_length=500,
        required=False,
        label="Anything to add?",
        widget=forms.TextInput(attrs={"placeholder": "e.g. our wedding, a rainy Sunday, road trip"}),
    )

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("image"):
            data["kept"] = None  # a new file replaces the one kept
        elif data.get("kept"):
            kept = data["kept"]
            photo = Photo.objects.filter(pk=int(kept), owner=self.owner).first() if kept.isdecimal() else None
            if photo is None:
                self.add_error("image", "That photo is no longer there; please choose it again.")
            data["kept_photo"] = photo
        elif "image" not in self.errors:
            self.add_error("image", "Choose a photo first.")
        return data


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


class RunOptionsForm(FilterForm):
    """The upload form's collapsed "Options": the filters, and a mood to match instead of the photo's (on
    the mood map's scale, as on the results page). run_options() gives create_run's mood and filters."""

    use_mood = forms.BooleanField(required=False, label="Match a mood I choose instead of the photo's")
    valence = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="Unpleasant → pleasant")
    arousal = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="Calm → excited")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("valence", "arousal"):
            self.fields[name].widget = forms.NumberInput(
                attrs={"type": "range", "min": "0", "max": "1", "step": "0.01"}
            )
            self.fields[name].initial = 0.5

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        unset = data.get("valence") is None or data.get("arousal") is None
        if data.get("use_mood") and unset and not {"valence", "arousal"} & set(self.errors):
            self.add_error(None, "To choose a mood, set both sliders (0 to 1).")
        try:
            data["filters"] = filters.clean(data)
        except ValueError as exc:
            self.add_error(None, f"Those filters were not understood: {exc}.")
        return data

    NAMES = {
        "genres": "Genres",
        "energy_min": "Lowest energy",
        "energy_max": "Highest energy",
        "tempo_min": "Lowest tempo",
        "tempo_max": "Highest tempo",
        "decade": "Decade",
        "language": "Language",
        "use_mood": "Mood",
        "valence": "Mood (unpleasant → pleasant)",
        "arousal": "Mood (calm → excited)",
    }

    def error_lines(self) -> list[str]:
        """Every error, each saying which option it is about."""
        return [
            f"{self.NAMES.get(name, '')}: {error}" if name != "__all__" else str(error)
            for name, errors in self.errors.items()
            for error in errors
        ]

    def run_options(self) -> dict[str, Any]:
        """create_run's mood and filters (call after is_valid())."""
        data = self.cleaned_data
        mood = results.mood_from_map(data["valence"], data["arousal"]) if data.get("use_mood") else None
        return {"mood": mood, "filters": data["filters"]}

    def is_set(self) -> bool:
        """Whether any option was given (the section opens to show them)."""
        return self.is_bound and any(
            self.data.get(name) for name in ("use_mood", "genres", *filters.RANGES, "decade", "language")
        )


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
